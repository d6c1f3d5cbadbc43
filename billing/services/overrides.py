"""Per-subscription price overrides: replace the set from a billing period on, list the
versions, carry them over a plan change.

Versions: every change adds a version of the subscription's whole override set, effective from
a time; the set in force for a billing period's usage is the latest version effective before
the period ends, and a base fee is priced by the version in force when its phase starts in the
period. Changes may not reach into a period before the current one, so a finalized invoice
never changes. A version replaced before it took effect is kept, marked superseded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.control_plane.commands import OverridesIn
from billing.control_plane.models import (
    Plan,
    Subscription,
    SubscriptionChargeOverride,
    SubscriptionChargeOverrideTier,
    SubscriptionEvent,
    SubscriptionOverrideVersion,
)
from billing.errors import Conflict, Invalid
from billing.rules.overrides import (
    ChargeOverride,
    EffectiveCharge,
    PlanChargeTerms,
    carried_overrides,
    merge_charges,
)
from billing.rules.pricing import PricingError, Tier
from billing.services.plans import charge_price, check_amount
from billing.timeutil import as_datetime, period_of, to_utc


def plan_terms(plan: Plan) -> dict[str, PlanChargeTerms]:
    """A plan's usage charges by meter key, as the override rules see them."""
    return {c.meter_key: PlanChargeTerms(charge_price(c), c.minimum_amount) for c in plan.charges}


def command_overrides(body: OverridesIn) -> list[ChargeOverride]:
    return [_charge_override(c.meter, c, c.tiers) for c in body.charges]


def stored_overrides(version: SubscriptionOverrideVersion) -> list[ChargeOverride]:
    return [
        _charge_override(row.meter_key, row, row.tiers if row.has_tiers else None)
        for row in version.charges
    ]


def _charge_override(meter: str, terms, tiers) -> ChargeOverride:
    """An override from a request's or a stored row's fields (the same names in both)."""
    return ChargeOverride(
        meter=meter,
        unit_amount=terms.unit_amount,
        package_size=terms.package_size,
        flat_amount=terms.flat_amount,
        tiers=None
        if tiers is None
        else tuple(Tier(t.up_to, t.unit_amount, t.flat_amount) for t in tiers),
        free_units=terms.free_units,
        minimum_amount=terms.minimum_amount,
    )


def effective_charges(version: SubscriptionOverrideVersion) -> dict[str, EffectiveCharge]:
    """The overridden charges of a version as the subscription pays them (meter key ->)."""
    return merge_charges(plan_terms(version.plan), stored_overrides(version))


def versions(session: Session, sub: Subscription) -> list[SubscriptionOverrideVersion]:
    """Every version of the subscription's overrides, oldest first (superseded ones too)."""
    return list(
        session.scalars(
            select(SubscriptionOverrideVersion)
            .where(SubscriptionOverrideVersion.subscription_id == sub.id)
            .order_by(SubscriptionOverrideVersion.version)
        ).all()
    )


def version_at(
    session: Session, sub: Subscription, moment: datetime
) -> SubscriptionOverrideVersion | None:
    """The version in force at ``moment`` (the latest one effective at or before it)."""
    live = [
        v for v in versions(session, sub) if v.superseded_at is None and v.effective_from <= moment
    ]
    return max(live, key=lambda v: (v.effective_from, v.version), default=None)


def base_fee_at(session: Session, sub: Subscription, plan: Plan, moment: datetime) -> Decimal:
    """The base fee the subscription pays for ``plan`` at ``moment``: an override's, else the
    plan's."""
    version = version_at(session, sub, moment)
    if version is not None and version.plan_id == plan.id and version.base_fee_amount is not None:
        return version.base_fee_amount
    return plan.base_fee_amount


def _supersede_from(session: Session, sub: Subscription, moment: datetime, now: datetime) -> None:
    for v in versions(session, sub):
        if v.superseded_at is None and v.effective_from >= moment:
            v.superseded_at = now


def _add_version(
    session: Session,
    sub: Subscription,
    plan: Plan,
    effective_from: datetime,
    base_fee_amount: Decimal | None,
    overrides: Sequence[ChargeOverride],
    reason: str,
    now: datetime,
) -> SubscriptionOverrideVersion:
    number = session.scalar(
        select(func.coalesce(func.max(SubscriptionOverrideVersion.version), 0)).where(
            SubscriptionOverrideVersion.subscription_id == sub.id
        )
    )
    charges = {c.meter_key: c for c in plan.charges}
    version = SubscriptionOverrideVersion(
        subscription_id=sub.id,
        version=int(number or 0) + 1,
        plan_id=plan.id,
        effective_from=effective_from,
        base_fee_amount=base_fee_amount,
        reason=reason,
        created_at=now,
    )
    for o in overrides:
        row = SubscriptionChargeOverride(
            charge_id=charges[o.meter].id,
            meter_key=o.meter,
            unit_amount=o.unit_amount,
            package_size=o.package_size,
            flat_amount=o.flat_amount,
            free_units=o.free_units,
            minimum_amount=o.minimum_amount,
            has_tiers=o.tiers is not None,
        )
        row.tiers = [
            SubscriptionChargeOverrideTier(
                tier_index=i, up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount
            )
            for i, t in enumerate(o.tiers or (), start=1)
        ]
        version.charges.append(row)
    session.add(version)
    session.flush()
    return version


def replace_overrides(
    session: Session,
    sub: Subscription,
    body: OverridesIn,
    now: datetime,
    reason: str = "replaced",
) -> SubscriptionOverrideVersion:
    """Replace the subscription's overrides from ``effective_from`` (a period start, not before
    the current period) on. Validated against the plan in force then; a plan change already
    scheduled after it gets its own version with the overrides that still apply. ``reason``:
    ``replaced`` (a PUT), ``contract_ramp`` or ``contract_end`` (a contract's ramps)."""
    from billing.services.subscriptions import phase_at, status_at

    if status_at(sub, now) == "canceled":
        raise Conflict(f"subscription {sub.id} is canceled")
    current_start = as_datetime(period_of(now)[0])
    effective_from = to_utc(body.effective_from, current_start)
    if effective_from != as_datetime(period_of(effective_from)[0]):
        raise Invalid(
            "must be the start of a billing period (00:00 UTC on the 1st)", "effective_from"
        )
    if effective_from < current_start:
        raise Invalid("cannot take effect before the current billing period", "effective_from")
    if sub.cancel_at is not None and effective_from >= sub.cancel_at:
        raise Invalid(f"the subscription ends at {sub.cancel_at}", "effective_from")
    phase = phase_at(sub, max(effective_from, sub.started_at))
    if phase is None:  # pragma: no cover - phases always cover [start, cancel)
        raise Conflict(f"subscription {sub.id} has no plan in force")
    plan = phase.plan
    check_amount(body.base_fee_amount, "base_fee_amount")
    overrides = command_overrides(body)
    try:
        merge_charges(plan_terms(plan), overrides, f"plan {plan.code!r} v{plan.version}")
    except PricingError as exc:
        raise Invalid(exc.message, exc.field) from None
    _supersede_from(session, sub, effective_from, now)
    version = _add_version(
        session, sub, plan, effective_from, body.base_fee_amount, overrides, reason, now
    )
    for later in sub.phases:
        if later.starts_at > max(effective_from, sub.started_at) and later.plan_id != plan.id:
            same_plan = later.plan.code == plan.code
            kept, _ = carried_overrides(
                plan_terms(later.plan), overrides, body.base_fee_amount is not None, same_plan
            )
            _add_version(
                session,
                sub,
                later.plan,
                later.starts_at,
                body.base_fee_amount if same_plan else None,
                kept,
                "migration" if same_plan else "plan_change",
                now,
            )
    sub.events.append(
        SubscriptionEvent(
            kind="overrides_replaced",
            occurred_at=now,
            effective_at=effective_from,
            details={
                "version": version.version,
                "reason": reason,
                "base_fee": body.base_fee_amount is not None,
                "charges": [o.meter for o in overrides],
            },
        )
    )
    return version


def carry_over_plan_change(
    session: Session, sub: Subscription, new_plan: Plan, at: datetime, now: datetime
) -> list[str]:
    """On a change to ``new_plan`` at ``at``: keep the overrides in force then that the new plan
    still has; return the keys of those dropped (``base_fee`` and meter keys). A migration to
    another version of the same plan keeps the base-fee override too."""
    in_force = version_at(session, sub, at)
    _supersede_from(session, sub, at, now)
    if in_force is None:
        return []
    overrides = stored_overrides(in_force)
    same_plan = in_force.plan.code == new_plan.code
    kept, dropped = carried_overrides(
        plan_terms(new_plan), overrides, in_force.base_fee_amount is not None, same_plan
    )
    if overrides or in_force.base_fee_amount is not None:
        base_fee = in_force.base_fee_amount if same_plan else None
        reason = "migration" if same_plan else "plan_change"
        _add_version(session, sub, new_plan, at, base_fee, kept, reason, now)
    return dropped


def drop_from(session: Session, sub: Subscription, moment: datetime, now: datetime) -> None:
    """A pending plan change was withdrawn: the versions made for it go."""
    _supersede_from(session, sub, moment, now)
