"""Plans: validation, versioning, and their prices as the pricing engine sees them.

A plan version that a subscription has used is immutable: replacing its definition creates
version + 1 (the old one is marked superseded and keeps serving its subscriptions). An unused
current version is replaced in place.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from billing.control_plane.commands import (
    MONEY_LIMIT,
    PlanCreate,
    PlanDefinition,
    PriceIn,
)
from billing.control_plane.models import Meter, Plan, PlanCharge, PlanChargeTier, SubscriptionPhase
from billing.errors import Conflict, Invalid, NotFound
from billing.rules.events import utc_now
from billing.rules.pricing import Price, PriceModel, PricingError, Tier, minor_units
from billing.services.rows import first_row

MAX_MONEY_SCALE = 12


def decimal_places(value: Decimal) -> int:
    """Decimal places of ``value`` ignoring trailing zeros (exact, no context rounding)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    while len(digits) > 1 and digits[-1] == 0 and exponent < 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(0, -exponent)


def check_amount(value: Decimal | None, field: str) -> None:
    if value is None:
        return
    if value < 0:
        raise Invalid("must not be negative", field)
    if decimal_places(value) > MAX_MONEY_SCALE:
        raise Invalid(f"has more than {MAX_MONEY_SCALE} decimal places", field)
    if value >= MONEY_LIMIT:
        raise Invalid("must be below 10^26", field)


def to_price(body: PriceIn, field: str = "price") -> Price:
    """The API's price object as a validated pricing-engine price."""
    try:
        model = PriceModel(body.model)
    except ValueError:
        raise Invalid(
            f"unknown price model {body.model!r} (use {', '.join(m.value for m in PriceModel)})",
            f"{field}.model",
        ) from None
    price = _price(model, body, body.free_units)
    try:
        price.validate(field)
    except PricingError as exc:
        raise Invalid(exc.message, exc.field) from None
    return price


def check_currency(currency: str, field: str = "currency") -> str:
    try:
        minor_units(currency)
    except PricingError:
        raise Invalid(f"unknown currency {currency!r}", field) from None
    return currency


def _price(model: PriceModel, source, free_units) -> Price:
    """A price from anything with the price's fields and tiers (a command or a stored charge)."""
    return Price(
        model=model,
        unit_amount=source.unit_amount,
        tiers=tuple(
            Tier(up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount)
            for t in source.tiers
        ),
        package_size=source.package_size,
        flat_amount=source.flat_amount,
        free_units=free_units,
    )


def charge_price(charge: PlanCharge) -> Price:
    return _price(PriceModel(charge.price_model), charge, charge.free_units or Decimal(0))


def validate_definition(session: Session, body: PlanDefinition) -> list[Price]:
    """Check every field of a plan definition; return the charges' prices in order."""
    check_currency(body.currency)
    check_amount(body.base_fee.amount, "base_fee.amount")
    prices, seen = [], set()
    for i, charge in enumerate(body.charges):
        field = f"charges[{i}]"
        meter = session.get(Meter, charge.meter)
        if meter is None or meter.archived_at is not None:
            raise Invalid(f"no active meter {charge.meter!r}", f"{field}.meter")
        if charge.meter in seen:
            raise Invalid(f"meter {charge.meter!r} is charged twice", f"{field}.meter")
        seen.add(charge.meter)
        check_amount(charge.minimum_amount, f"{field}.minimum_amount")
        prices.append(to_price(charge.price, f"{field}.price"))
    return prices


def _fill(session: Session, plan: Plan, body: PlanDefinition, prices: list[Price]) -> None:
    plan.name = body.name
    plan.description = body.description
    plan.currency = body.currency
    plan.interval = body.interval
    plan.base_fee_amount = body.base_fee.amount
    plan.base_fee_timing = body.base_fee.timing
    plan.base_fee_proration = body.base_fee.proration
    plan.trial_days = body.trial_days
    if plan.charges:
        plan.charges.clear()
        session.flush()  # delete the old charges before inserting the new ones
    for position, (charge, price) in enumerate(zip(body.charges, prices, strict=True), start=1):
        row = PlanCharge(
            position=position,
            meter_key=charge.meter,
            price_model=price.model.value,
            unit_amount=price.unit_amount,
            package_size=price.package_size,
            flat_amount=price.flat_amount,
            free_units=price.free_units,
            minimum_amount=charge.minimum_amount,
        )
        row.tiers = [
            PlanChargeTier(
                tier_index=i, up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount
            )
            for i, t in enumerate(price.tiers, start=1)
        ]
        plan.charges.append(row)


def current_plan(session: Session, code: str, *, for_update: bool = False) -> Plan:
    query = select(Plan).where(
        Plan.code == code, Plan.superseded_at.is_(None), Plan.archived_at.is_(None)
    )
    return first_row(session, query, f"plan {code!r} not found", lock=for_update)


def plan_in_use(session: Session, plan_id: int) -> bool:
    return bool(session.scalar(select(exists().where(SubscriptionPhase.plan_id == plan_id))))


def create_plan(session: Session, body: PlanCreate) -> Plan:
    prices = validate_definition(session, body)
    if session.scalar(select(func.count()).select_from(Plan).where(Plan.code == body.code)):
        raise Conflict(f"plan {body.code!r} already exists; replace it with PUT to version it")
    plan = Plan(code=body.code, version=1)
    _fill(session, plan, body, prices)
    session.add(plan)
    return plan


def replace_plan(session: Session, code: str, body: PlanDefinition) -> Plan:
    """Edit a plan: in place while unused, otherwise as a new version."""
    prices = validate_definition(session, body)
    plan = current_plan(session, code, for_update=True)
    if not plan_in_use(session, plan.id):
        _fill(session, plan, body, prices)
        return plan
    plan.superseded_at = utc_now()
    successor = Plan(code=code, version=plan.version + 1)
    _fill(session, successor, body, prices)
    session.add(successor)
    return successor


def archive_plan(session: Session, code: str) -> Plan:
    plan = current_plan(session, code)
    plan.archived_at = utc_now()
    return plan


def list_plans(session: Session, include_history: bool = False) -> list[Plan]:
    """Current plan versions (every version with ``include_history``), by code and version."""
    query = select(Plan).order_by(Plan.code, Plan.version)
    if not include_history:
        query = query.where(Plan.superseded_at.is_(None), Plan.archived_at.is_(None))
    return list(session.scalars(query).all())


def plan_version(session: Session, code: str, version: int) -> Plan:
    plan = session.scalars(select(Plan).where(Plan.code == code, Plan.version == version)).first()
    if plan is None:
        raise NotFound(f"plan {code!r} has no version {version}")
    return plan
