"""Subscription lifecycle: trialing -> active -> canceled, plan changes, coupons.

The control plane stores facts: when the subscription started, its trial, its effective-dated
phases (which plan was in force when) and when it ends. Money is computed from those facts in
the warehouse; the proration lines returned here are a preview made with the same pricing engine
and the same rule: fraction = remaining days including the change day / days in the period; the
unused part of the old base fee is credited and the new one charged for the remainder, each line
rounded on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.control_plane.commands import (
    CancelIn,
    MigrateIn,
    PlanChangeIn,
    PlanMigrateIn,
    SubscriptionCreate,
)
from billing.control_plane.models import (
    Coupon,
    CouponRedemption,
    Plan,
    Subscription,
    SubscriptionEvent,
    SubscriptionPhase,
)
from billing.errors import ApiError, Conflict, Invalid, NotFound
from billing.rules.pricing import PricingError, round_money
from billing.rules.proration import prorate_at, share_text
from billing.services import overrides
from billing.services.coupons import redeemable_coupon
from billing.services.plans import current_plan
from billing.services.rows import first_row, new_id
from billing.timeutil import as_datetime, period_of, to_utc, utc_text


def status_at(sub: Subscription, now: datetime) -> str:
    if sub.cancel_at is not None and now >= sub.cancel_at:
        return "canceled"
    if now < sub.started_at:
        return "scheduled"
    if sub.trial_ends_at is not None and now < sub.trial_ends_at:
        return "trialing"
    return "active"


def phase_at(sub: Subscription, moment: datetime) -> SubscriptionPhase | None:
    for phase in sub.phases:
        if phase.starts_at <= moment and (phase.ends_at is None or moment < phase.ends_at):
            return phase
    return None


def period_start_of(moment: datetime) -> datetime:
    return as_datetime(period_of(moment)[0])


def fee_starts_at(sub: Subscription) -> datetime:
    """The base fee is charged from the start, or from the end of the trial."""
    if sub.trial_ends_at is not None and sub.trial_ends_at > sub.started_at:
        return sub.trial_ends_at
    return sub.started_at


def get_subscription(session: Session, subscription_id: str, *, lock: bool = False) -> Subscription:
    query = select(Subscription).where(Subscription.id == subscription_id)
    return first_row(session, query, f"subscription {subscription_id!r} not found", lock=lock)


def _event(sub: Subscription, kind: str, effective_at: datetime, now: datetime, **details) -> None:
    sub.events.append(
        SubscriptionEvent(
            kind=kind,
            occurred_at=now,
            effective_at=effective_at,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


@dataclass(frozen=True)
class ProrationLine:
    """A proration preview line: credit for the unused part of the old base fee, or the charge
    for the rest of the period on the new one."""

    period_start: date
    kind: str  # proration_credit or proration_charge
    description: str
    amount: str
    currency: str

    def as_json(self) -> dict:
        return {
            "period_start": self.period_start.isoformat(),
            "kind": self.kind,
            "description": self.description,
            "amount": self.amount,
            "currency": self.currency,
        }


def _proration_preview(
    sub: Subscription,
    old: Plan,
    new: Plan | None,
    at: datetime,
    old_fee: Decimal | None = None,
    new_fee: Decimal | None = None,
) -> list[ProrationLine]:
    """Credit for the unused part of the old base fee, charge for the new one, in the period
    of ``at`` (``old_fee``/``new_fee``: the fees the subscription pays, overrides included;
    default the plans'). Nothing when the change falls on the very start of the period (the
    period simply begins on the new plan), of the old plan, or of the base fee (scheduled, in
    trial)."""
    start, end = period_of(at)
    old_phase = phase_at(sub, at - timedelta(microseconds=1))
    if (
        at <= as_datetime(start)
        or at <= fee_starts_at(sub)
        or old_phase is None
        or old_phase.plan_id != old.id
    ):
        return []
    lines = []
    old_amount = old.base_fee_amount if old_fee is None else old_fee
    new_amount = None
    if new is not None:
        new_amount = new.base_fee_amount if new_fee is None else new_fee
    for name, value in (("old_amount", old_amount), ("new_amount", new_amount)):
        if value is not None and value < 0:
            raise PricingError(name, "must be a non-negative finite Decimal")
    # Each plan's fee is prorated by that plan's unit (days, or seconds).
    credit = -prorate_at(old_amount, at, start, end, old.currency, old.base_fee_proration)
    charge = None
    if new is not None:
        charge = prorate_at(new_amount, at, start, end, new.currency, new.base_fee_proration)
    for kind, plan, amount, verb in (
        ("proration_credit", old, credit, "Unused time on"),
        ("proration_charge", new, charge, "Remaining time on"),
    ):
        if plan is not None and amount:
            share = share_text(at, start, end, plan.base_fee_proration)
            lines.append(
                ProrationLine(
                    period_start=start,
                    kind=kind,
                    currency=plan.currency,
                    description=f"{verb} {plan.code} v{plan.version} ({share})",
                    amount=str(amount),
                )
            )
    return lines


# ----------------------------------------------------------------------------- create
def create_subscription(session: Session, body: SubscriptionCreate, now: datetime) -> Subscription:
    plan = current_plan(session, body.plan_code)
    start = to_utc(body.start_at, now)
    trial_days = plan.trial_days if body.trial_days is None else body.trial_days
    sub = Subscription(
        id=new_id("sub"),
        tenant_id=body.tenant_id,
        plan_id=plan.id,
        started_at=start,
        trial_ends_at=start + timedelta(days=trial_days) if trial_days else None,
    )
    sub.phases = [SubscriptionPhase(plan_id=plan.id, starts_at=start, reason="created")]
    sub.events = []
    _event(
        sub,
        "created",
        start,
        now,
        plan_code=plan.code,
        plan_version=plan.version,
        trial_ends_at=utc_text(sub.trial_ends_at) if sub.trial_ends_at else None,
    )
    session.add(sub)
    session.flush()
    if body.coupon_code:
        redeem_coupon(session, sub, body.coupon_code, now, field="coupon_code")
    return sub


# ----------------------------------------------------------------------------- cancel
def cancel_subscription(
    session: Session, sub: Subscription, body: CancelIn, now: datetime
) -> list[ProrationLine]:
    if status_at(sub, now) == "canceled":
        raise Conflict(f"subscription {sub.id} is already canceled")
    if body.at_period_end:
        if body.at is not None:
            raise Invalid("only an immediate cancellation takes a time", "at")
        cancel_at = as_datetime(period_of(max(now, sub.started_at))[1])
        kind = "cancellation_scheduled"
    else:
        cancel_at = max(to_utc(body.at, now), sub.started_at)
        kind = "canceled"
        _check_not_backdated(cancel_at, now)
    if sub.cancel_at is not None and sub.cancel_at <= cancel_at:
        raise Conflict(f"subscription {sub.id} is already set to end at {sub.cancel_at}")
    preview: list[ProrationLine] = []
    in_force = phase_at(sub, cancel_at)
    if not body.at_period_end and in_force is not None:
        fee_at = max(period_start_of(cancel_at), in_force.starts_at)
        old_fee = overrides.base_fee_at(session, sub, in_force.plan, fee_at)
        preview = _proration_preview(sub, in_force.plan, None, cancel_at, old_fee)
    _truncate_phases(sub, cancel_at, now)
    sub.cancel_at = cancel_at
    sub.canceled_at = now
    _event(
        sub,
        kind,
        cancel_at,
        now,
        proration=[line.as_json() for line in preview] or None,
    )
    return preview


def _truncate_phases(sub: Subscription, at: datetime, now: datetime) -> None:
    """End the phase in force at ``at`` there; drop the phases that would start at or after it
    (a pending change, or the whole subscription if it ends before it began)."""
    for phase in list(sub.phases):
        if phase.starts_at >= at:
            if phase.starts_at > now:
                _event(sub, "pending_change_dropped", phase.starts_at, now, plan_id=phase.plan_id)
            sub.phases.remove(phase)
        elif phase.ends_at is None or phase.ends_at > at:
            phase.ends_at = at


def _check_not_backdated(at: datetime, now: datetime, field: str = "at") -> None:
    """Changes may not reach into a billing period before the current one (its invoice may
    be final)."""
    if at < as_datetime(period_of(now)[0]):
        raise Invalid("cannot take effect before the current billing period", field)


# ----------------------------------------------------------------------------- plan change
@dataclass(frozen=True)
class PlanChange:
    """What a plan change (or a migration) caused: the proration preview, the keys of the
    overrides the new plan does not keep (``base_fee`` and meter keys), and when it takes
    effect (None when it withdrew a pending change)."""

    proration: list[ProrationLine]
    dropped_overrides: list[str]
    effective_at: datetime | None = None
    timing: str | None = None


_CHANGE_EVENTS = ("plan_changed", "plan_change_scheduled")


def change_plan(
    session: Session, sub: Subscription, body: PlanChangeIn, now: datetime
) -> PlanChange:
    if status_at(sub, now) == "canceled":
        raise Conflict(f"subscription {sub.id} is canceled")
    new = current_plan(session, body.plan_code)
    return _move(session, sub, new, body.timing, body.at, now)


def _move(
    session: Session,
    sub: Subscription,
    new: Plan,
    timing: str | None,
    at_given: datetime | None,
    now: datetime,
    migration: bool = False,
) -> PlanChange:
    """Put ``sub`` on ``new`` (another plan, or another version of its plan for a migration):
    end the phase in force, add one for ``new``, carry the overrides over, preview the
    proration. Every check comes before the first write, so a Conflict or Invalid leaves the
    subscription unchanged."""
    if status_at(sub, now) == "canceled":
        raise Conflict(f"subscription {sub.id} is canceled")
    moment = max(now, sub.started_at)
    in_force = phase_at(sub, moment)
    if in_force is None:  # pragma: no cover - phases always cover [start, cancel)
        raise Conflict(f"subscription {sub.id} has no plan in force")
    old = in_force.plan
    if new.id == old.id:
        pending = [p for p in sub.phases if p.starts_at > moment]
        if not pending:
            raise Conflict(f"subscription {sub.id} is already on {new.code} v{new.version}")
        # Choosing the current plan again drops the change scheduled for later.
        in_force.ends_at = sub.cancel_at
        _truncate_phases(sub, pending[0].starts_at, now)
        in_force.ends_at = sub.cancel_at
        overrides.drop_from(session, sub, pending[0].starts_at, now)
        return PlanChange([], [])
    if new.currency != old.currency:
        raise Invalid(
            f"plan {new.code!r} is priced in {new.currency}, the subscription in {old.currency}",
            "plan_code",
        )
    timing = timing or ("immediate" if new.base_fee_amount >= old.base_fee_amount else "period_end")
    if timing == "period_end":
        if at_given is not None:
            raise Invalid("only an immediate change takes a time", "at")
        at = as_datetime(period_of(moment)[1])
    else:
        at = max(to_utc(at_given, now), sub.started_at)
        _check_not_backdated(at, now)
        current = phase_at(sub, at)
        if current is not None:
            old = current.plan
    if sub.cancel_at is not None and at >= sub.cancel_at:
        raise Conflict(f"subscription {sub.id} ends at {sub.cancel_at}, before the change")
    old_fee = None
    if timing == "immediate":
        before = phase_at(sub, at - timedelta(microseconds=1))
        fee_at = max(period_start_of(at), before.starts_at if before else sub.started_at)
        old_fee = overrides.base_fee_at(session, sub, old, fee_at)
    _truncate_phases(sub, at, now)
    if migration:
        reason = "migration"
    else:
        reason = "upgrade" if new.base_fee_amount >= old.base_fee_amount else "downgrade"
    sub.phases.append(
        SubscriptionPhase(plan_id=new.id, starts_at=at, ends_at=sub.cancel_at, reason=reason)
    )
    sub.plan_id = new.id
    dropped = overrides.carry_over_plan_change(session, sub, new, at, now)
    preview = []
    if old_fee is not None:
        new_fee = overrides.base_fee_at(session, sub, new, at)
        preview = _proration_preview(sub, old, new, at, old_fee, new_fee)
    kinds = ("plan_migrated", "plan_migration_scheduled") if migration else _CHANGE_EVENTS
    _event(
        sub,
        kinds[0] if timing == "immediate" else kinds[1],
        at,
        now,
        from_plan=f"{old.code} v{old.version}",
        to_plan=f"{new.code} v{new.version}",
        timing=timing,
        proration=[line.as_json() for line in preview] or None,
        dropped_overrides=dropped or None,
    )
    return PlanChange(preview, dropped, at, timing)


# ----------------------------------------------------------------------------- migrations
def migrate_subscription(
    session: Session, sub: Subscription, body: MigrateIn, now: datetime
) -> PlanChange:
    """Move ``sub`` onto another version of the plan in force (``body.version``, default the
    latest), through the plan-change machinery: phases, proration, overrides carried over
    (the base-fee override too: it is a price of the same plan)."""
    if status_at(sub, now) == "canceled":
        raise Conflict(f"subscription {sub.id} is canceled")
    in_force = phase_at(sub, max(now, sub.started_at))
    if in_force is None:  # pragma: no cover - phases always cover [start, cancel)
        raise Conflict(f"subscription {sub.id} has no plan in force")
    code = in_force.plan.code
    if body.version is None:
        target = session.scalars(
            select(Plan).where(Plan.code == code).order_by(Plan.version.desc())
        ).first()
    else:
        target = _plan_version(session, code, body.version, Invalid)
    assert target is not None  # the version in force exists
    return _migrate(session, sub, target, body, now)


def _plan_version(session: Session, code: str, version: int, error: type[ApiError]) -> Plan:
    plan = session.scalars(select(Plan).where(Plan.code == code, Plan.version == version)).first()
    if plan is None:
        raise error(f"plan {code!r} has no version {version}", "version")
    return plan


def _migrate(
    session: Session, sub: Subscription, target: Plan, body: PlanMigrateIn, now: datetime
) -> PlanChange:
    """The checks a migration adds to a plan change, then the change. Raises before writing."""
    moment = max(now, sub.started_at)
    in_force = phase_at(sub, moment)
    if in_force is None:  # pragma: no cover - phases always cover [start, cancel)
        raise Conflict(f"subscription {sub.id} has no plan in force")
    old = in_force.plan
    if target.version < old.version:
        raise Invalid(f"is older than {old.code} v{old.version}, the version in force", "version")
    if target.archived_at is not None:
        raise Conflict(f"plan {target.code!r} v{target.version} is archived", "version")
    if target.currency != old.currency:
        raise Conflict(
            f"{target.code} v{target.version} is priced in {target.currency}, the subscription "
            f"in {old.currency}",
            "version",
        )
    pending = next((p for p in sub.phases if p.starts_at > moment), None)
    if pending is not None and pending.plan.code != old.code:
        raise Conflict(
            f"a change to {pending.plan.code} v{pending.plan.version} is scheduled for "
            f"{utc_text(pending.starts_at)}: change-plan withdraws it first"
        )
    return _move(session, sub, target, body.timing, body.at, now, migration=True)


@dataclass(frozen=True)
class Migration:
    """One subscription's outcome of a plan-wide migration: ``migrated`` (immediately),
    ``scheduled`` (at its period end) or ``skipped`` (``reason`` says why; nothing changed)."""

    subscription: Subscription
    from_version: int
    status: str
    change: PlanChange | None = None
    reason: str | None = None


def migrate_plan(
    session: Session, code: str, version: int, body: PlanMigrateIn, now: datetime
) -> tuple[Plan, list[Migration]]:
    """Move every subscription whose plan in force is an older version of ``code`` onto
    ``version``. A subscription that cannot move (a change to another plan scheduled, the
    version already scheduled, it ends first) is skipped with the reason; bad input for all
    (``at``) is an Invalid and nothing is written."""
    target = _plan_version(session, code, version, NotFound)
    if target.archived_at is not None:
        raise Conflict(f"plan {code!r} v{version} is archived", "version")
    subs = session.scalars(
        select(Subscription)
        .where(
            Subscription.id.in_(
                select(SubscriptionPhase.subscription_id)
                .join(Plan, Plan.id == SubscriptionPhase.plan_id)
                .where(Plan.code == code, Plan.version < version)
            )
        )
        .order_by(Subscription.created_at, Subscription.id)
        .with_for_update()
    ).all()
    outcomes = []
    for sub in subs:
        moment = max(now, sub.started_at)
        in_force = phase_at(sub, moment)
        if status_at(sub, now) == "canceled" or in_force is None:
            continue
        old = in_force.plan
        if old.code != code or old.version >= version:
            continue
        pending = next((p for p in sub.phases if p.starts_at > moment), None)
        try:
            if (
                pending is not None
                and pending.plan.code == code
                and pending.plan.version >= version
            ):
                raise Conflict(
                    f"{code} v{pending.plan.version} is already scheduled for "
                    f"{utc_text(pending.starts_at)}"
                )
            change = _migrate(session, sub, target, body, now)
        except Conflict as exc:
            outcomes.append(Migration(sub, old.version, "skipped", reason=exc.message))
            continue
        status = "migrated" if change.timing == "immediate" else "scheduled"
        outcomes.append(Migration(sub, old.version, status, change))
    return target, outcomes


# ----------------------------------------------------------------------------- coupons
def redeem_coupon(
    session: Session, sub: Subscription, code: str, now: datetime, field: str = "code"
) -> CouponRedemption:
    """Apply a coupon, counting the redemption atomically (safe under concurrent requests)."""
    coupon = redeemable_coupon(session, code, now)
    plan = phase_at(sub, max(now, sub.started_at))
    plan_row = plan.plan if plan is not None else sub.plan
    if coupon.plan_codes and plan_row.code not in coupon.plan_codes:
        raise Invalid(f"coupon {code!r} does not apply to plan {plan_row.code!r}", field)
    if coupon.amount_off is not None and coupon.currency != plan_row.currency:
        raise Invalid(
            f"coupon {code!r} is in {coupon.currency}, the plan in {plan_row.currency}", field
        )
    # One conditional update: two concurrent redemptions cannot both take the last one.
    counted = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            Coupon.archived_at.is_(None),
            (Coupon.max_redemptions.is_(None)) | (Coupon.times_redeemed < Coupon.max_redemptions),
        )
        .values(times_redeemed=Coupon.times_redeemed + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise Conflict(f"coupon {code!r} has reached its {coupon.max_redemptions} redemptions")
    first_period = period_of(max(now, sub.started_at))[0]
    periods = {"once": 1, "repeating": coupon.duration_in_months, "forever": None}[coupon.duration]
    redemption = CouponRedemption(
        coupon_id=coupon.id,
        subscription_id=sub.id,
        redeemed_at=now,
        first_period_start=first_period,
        periods=periods,
    )
    session.add(redemption)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"coupon {code!r} is already applied to {sub.id}") from None
    _event(
        sub,
        "coupon_applied",
        now,
        now,
        coupon=code,
        first_period=first_period.isoformat(),
        periods=periods,
    )
    return redemption


# ----------------------------------------------------------------------------- views
def list_subscriptions(
    session: Session, tenant_id: str | None, status: str | None, now: datetime
) -> list[Subscription]:
    """Subscriptions in creation order, of one tenant (or all), in one status (or any)."""
    query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
    if tenant_id is not None:
        query = query.where(Subscription.tenant_id == tenant_id)
    rows = session.scalars(query).all()
    return [s for s in rows if status is None or status_at(s, now) == status]


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as of ``now``: the plan in force (or the last one), the pending change,
    the status, the current period (while trialing or active) and the coupons redeemed."""

    subscription: Subscription
    plan: Plan
    pending: SubscriptionPhase | None
    status: str
    period: tuple[date, date] | tuple[None, None]
    redemptions: list[CouponRedemption]


def subscription_view(session: Session, sub: Subscription, now: datetime) -> SubscriptionView:
    in_force = phase_at(sub, max(now, sub.started_at))
    plan = (
        in_force.plan if in_force is not None else (sub.phases[-1].plan if sub.phases else sub.plan)
    )
    pending = next((p for p in sub.phases if p.starts_at > max(now, sub.started_at)), None)
    status = status_at(sub, now)
    period: tuple[date, date] | tuple[None, None] = (None, None)
    if status in ("trialing", "active"):
        period = period_of(now)
    redemptions = session.scalars(
        select(CouponRedemption)
        .where(CouponRedemption.subscription_id == sub.id)
        .order_by(CouponRedemption.id)
    ).all()
    return SubscriptionView(sub, plan, pending, status, period, list(redemptions))


__all__ = [
    "cancel_subscription",
    "change_plan",
    "create_subscription",
    "get_subscription",
    "list_subscriptions",
    "migrate_plan",
    "migrate_subscription",
    "redeem_coupon",
    "round_money",
    "status_at",
    "subscription_view",
]
