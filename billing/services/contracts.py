"""Contracts: bind a tenant's subscription to a term ``[starts_on, ends_on)`` of whole billing
periods, with an optional commit and price ramps. A postpaid commit is a minimum spend over the
term, trued up on the invoice of its last period by the invoice models. A prepaid commit is
billed on the term's first invoices (its instalments) and is a wallet grant (kind
``contract``, granted at the start of the term, expiring at its end unless it rolls over), so
the term's invoices draw it down through the one wallet ledger (``billing.rules.wallets``).

A ramp is a rate card: it is written as a version of the subscription's overrides effective
from its start (``billing.services.overrides``), so rating knows nothing of contracts. At the
end of the term the overrides in force before the contract come back (a version effective
from ``ends_on``). Terms start no earlier than the current period, so no finalized invoice
changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from billing.control_plane.commands import (
    ChargeOverrideIn,
    ContractCreate,
    OverridesIn,
    RampIn,
    TierIn,
)
from billing.control_plane.models import (
    Contract,
    ContractCommitInstalment,
    ContractRamp,
    Plan,
    Subscription,
    SubscriptionOverrideVersion,
    Wallet,
    WalletGrant,
)
from billing.errors import ApiError, Conflict, Invalid, NotFound
from billing.rules.periods import check_period_start, period_start, periods_between
from billing.rules.pricing import minor_units
from billing.rules.wallets import instalments
from billing.services import overrides
from billing.services.plans import check_amount, decimal_places
from billing.services.rows import get_row, new_id
from billing.timeutil import as_datetime


def get_contract(session: Session, contract_id: str) -> Contract:
    return get_row(session, Contract, contract_id, f"contract {contract_id!r} not found")


def list_contracts(session: Session, tenant_id: str | None = None) -> list[Contract]:
    query = select(Contract).order_by(Contract.tenant_id, Contract.starts_on, Contract.id)
    if tenant_id is not None:
        query = query.where(Contract.tenant_id == tenant_id)
    return list(session.scalars(query).all())


def last_period_start(contract: Contract) -> date:
    """The start of the term's last billing period (the one the true-up lands on)."""
    return period_start(contract.ends_on - timedelta(days=1))


def _subscription(session: Session, body: ContractCreate) -> Subscription:
    from billing.services.subscriptions import get_subscription, phase_at

    if body.subscription_id is not None:
        try:
            sub = get_subscription(session, body.subscription_id, lock=True)
        except NotFound as exc:
            raise Invalid(exc.message, "subscription_id") from None
        if sub.tenant_id != body.tenant_id:
            raise Invalid(f"is not a subscription of tenant {body.tenant_id!r}", "subscription_id")
        return sub
    start = as_datetime(body.starts_on)
    candidates = [
        sub
        for sub in session.scalars(
            select(Subscription).where(Subscription.tenant_id == body.tenant_id)
        ).all()
        if phase_at(sub, max(start, sub.started_at)) is not None
        and sub.started_at < as_datetime(body.ends_on)
    ]
    if len(candidates) != 1:
        found = "no subscription" if not candidates else f"{len(candidates)} subscriptions"
        raise Invalid(
            f"tenant {body.tenant_id!r} has {found} in force at the start of the term; name one",
            "subscription_id",
        )
    return candidates[0]


def _check_term(body: ContractCreate, sub: Subscription, now: datetime) -> Plan:
    """The term's dates, the subscription and currency; the plan in force at its start."""
    from billing.services.subscriptions import phase_at

    check_period_start(body.starts_on, "starts_on")
    check_period_start(body.ends_on, "ends_on")
    if body.ends_on <= body.starts_on:
        raise Invalid("must be after starts_on", "ends_on")
    if body.starts_on < period_start(now):
        raise Invalid(
            "reaches into a billing period before the current one (finalized or closing)",
            "starts_on",
        )
    ends_at = as_datetime(body.ends_on)
    if sub.started_at >= ends_at:
        raise Invalid(f"the subscription starts at {sub.started_at}, after the term", "ends_on")
    if sub.cancel_at is not None and sub.cancel_at < ends_at:
        raise Invalid(f"the subscription ends at {sub.cancel_at}, inside the term", "ends_on")
    phase = phase_at(sub, max(as_datetime(body.starts_on), sub.started_at))
    if phase is None:  # pragma: no cover - phases always cover [start, cancel)
        raise Conflict(f"subscription {sub.id} has no plan in force")
    if body.currency != phase.plan.currency:
        raise Invalid(
            f"must be the plan's currency ({phase.plan.currency}, plan {phase.plan.code!r})",
            "currency",
        )
    for field in ("postpaid_commit_amount", "prepaid_commit_amount"):
        amount = getattr(body, field)
        check_amount(amount, field)
        if amount is not None and amount == 0:
            raise Invalid("must be positive (or null: no commit)", field)
    _check_prepaid(body)
    return phase.plan


def term_periods(starts_on: date, ends_on: date) -> list[date]:
    """The period starts of the term ``[starts_on, ends_on)``."""
    return periods_between(starts_on, ends_on - timedelta(days=1))


def _check_prepaid(body: ContractCreate) -> None:
    amount = body.prepaid_commit_amount
    if amount is None:
        if body.prepaid_commit_instalments != 1:
            raise Invalid("needs a prepaid_commit_amount", "prepaid_commit_instalments")
        if body.prepaid_commit_rollover:
            raise Invalid("needs a prepaid_commit_amount", "prepaid_commit_rollover")
        return
    if body.postpaid_commit_amount is not None:
        raise Invalid(
            "a contract has a prepaid or a postpaid commit, not both", "prepaid_commit_amount"
        )
    places = minor_units(body.currency)
    if decimal_places(amount) > places:
        raise Invalid(
            f"has more than {places} decimal places for {body.currency}", "prepaid_commit_amount"
        )
    periods = len(term_periods(body.starts_on, body.ends_on))
    if body.prepaid_commit_instalments > periods:
        raise Invalid(
            f"must be at most the term's {periods} billing periods", "prepaid_commit_instalments"
        )
    unit = Decimal(1).scaleb(-places)
    if amount < unit * body.prepaid_commit_instalments:
        raise Invalid(f"is less than one {unit} per instalment", "prepaid_commit_instalments")


def _check_ramps(body: ContractCreate) -> None:
    """Ramps cover the term without a gap or an overlap: the first starts with the term, each
    later one after the one before, all inside it, each on a period start."""
    previous: date | None = None
    for i, ramp in enumerate(body.ramps):
        field = f"ramps[{i}].starts_on"
        check_period_start(ramp.starts_on, field)
        if ramp.starts_on < body.starts_on or ramp.starts_on >= body.ends_on:
            raise Invalid(f"is outside the term [{body.starts_on}, {body.ends_on})", field)
        if i == 0 and ramp.starts_on != body.starts_on:
            raise Invalid(
                f"leaves a gap: the first ramp must start with the term ({body.starts_on})", field
            )
        if previous is not None and ramp.starts_on <= previous:
            raise Invalid(f"overlaps the previous ramp (from {previous})", field)
        check_amount(ramp.base_fee_amount, f"ramps[{i}].base_fee_amount")
        previous = ramp.starts_on


def _check_no_overlap(session: Session, body: ContractCreate) -> None:
    clash = session.scalars(
        select(Contract)
        .where(Contract.tenant_id == body.tenant_id)
        .where(Contract.starts_on < body.ends_on)
        .where(Contract.ends_on > body.starts_on)
        .order_by(Contract.starts_on)
    ).first()
    if clash is not None:
        raise Conflict(
            f"tenant {body.tenant_id!r} has contract {clash.id} for "
            f"[{clash.starts_on}, {clash.ends_on}), overlapping this term",
            "starts_on",
        )


def _restored(before: SubscriptionOverrideVersion | None, plan: Plan, ends_on: date) -> OverridesIn:
    """The overrides in force before the contract, from ``ends_on`` on (none if they were made
    for another plan)."""
    if before is None or before.plan_id != plan.id:
        return OverridesIn(effective_from=as_datetime(ends_on))
    return OverridesIn(
        effective_from=as_datetime(ends_on),
        base_fee_amount=before.base_fee_amount,
        charges=[
            ChargeOverrideIn(
                meter=row.meter_key,
                unit_amount=row.unit_amount,
                package_size=row.package_size,
                flat_amount=row.flat_amount,
                tiers=[
                    TierIn(up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount)
                    for t in row.tiers
                ]
                if row.has_tiers
                else None,
                free_units=row.free_units,
                minimum_amount=row.minimum_amount,
            )
            for row in before.charges
        ],
    )


def _write_ramp(
    session: Session, sub: Subscription, i: int, ramp: RampIn, now: datetime
) -> SubscriptionOverrideVersion:
    body = OverridesIn(
        effective_from=as_datetime(ramp.starts_on),
        base_fee_amount=ramp.base_fee_amount,
        charges=ramp.charges,
    )
    try:
        return overrides.replace_overrides(session, sub, body, now, "contract_ramp")
    except ApiError as exc:  # the override rules name the ramp's own fields
        field = "starts_on" if exc.field == "effective_from" else exc.field
        raise type(exc)(exc.message, f"ramps[{i}].{field}" if field else f"ramps[{i}]") from None


def _write_prepaid(session: Session, contract: Contract, body: ContractCreate, now: datetime):
    """The commit's instalments (one per period from the term's first) and its grant, to a
    wallet of its own, usable by the invoices of the term's periods."""
    amount = body.prepaid_commit_amount
    parts = instalments(amount, body.prepaid_commit_instalments, minor_units(body.currency))
    periods = term_periods(body.starts_on, body.ends_on)
    for i, part in enumerate(parts):
        contract.instalments.append(
            ContractCommitInstalment(instalment_index=i, period_start=periods[i], amount=part)
        )
    wallet = Wallet(
        tenant_id=body.tenant_id,
        currency=body.currency,
        name=f"contract {contract.id}",
        priority=100,
        created_at=now,
    )
    session.add(wallet)
    session.flush()
    grant = WalletGrant(
        wallet_id=wallet.id,
        tenant_id=body.tenant_id,
        currency=body.currency,
        kind="contract",
        source_ref=contract.id,
        amount=amount,
        reason=f"prepaid commit of contract {contract.id}",
        granted_at=as_datetime(body.starts_on),
        expires_at=None if body.prepaid_commit_rollover else as_datetime(body.ends_on),
    )
    session.add(grant)
    session.flush()
    contract.prepaid_grant_id = grant.id


def create_contract(session: Session, body: ContractCreate, now: datetime) -> Contract:
    """Validate the whole contract, then write it and its ramps' override versions (the
    caller commits; an error leaves nothing written)."""
    from billing.services.subscriptions import phase_at

    sub = _subscription(session, body)
    _check_term(body, sub, now)
    _check_ramps(body)
    _check_no_overlap(session, body)
    contract = Contract(
        id=new_id("ctr"),
        tenant_id=body.tenant_id,
        subscription_id=sub.id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        currency=body.currency,
        postpaid_commit_amount=body.postpaid_commit_amount,
        prepaid_commit_amount=body.prepaid_commit_amount,
        prepaid_commit_rollover=body.prepaid_commit_rollover,
        created_at=now,
    )
    session.add(contract)
    if body.prepaid_commit_amount is not None:
        _write_prepaid(session, contract, body, now)
    if body.ramps:
        before = overrides.version_at(
            session, sub, as_datetime(body.starts_on) - timedelta(microseconds=1)
        )
        for i, ramp in enumerate(body.ramps):
            version = _write_ramp(session, sub, i, ramp, now)
            contract.ramps.append(
                ContractRamp(ramp_index=i, starts_on=ramp.starts_on, override_version_id=version.id)
            )
        end_phase = phase_at(sub, as_datetime(body.ends_on))
        if end_phase is not None:
            overrides.replace_overrides(
                session,
                sub,
                _restored(before, end_phase.plan, body.ends_on),
                now,
                "contract_end",
            )
    session.flush()
    return contract


def prepaid_wallet_id(contract: Contract) -> int | None:
    """The wallet holding the contract's prepaid commit, if it has one."""
    if contract.prepaid_grant_id is None:
        return None
    grant = object_session(contract).get(WalletGrant, contract.prepaid_grant_id)
    return grant.wallet_id if grant is not None else None
