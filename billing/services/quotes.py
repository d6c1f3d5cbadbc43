"""Quotes: a plan priced for a usage map and an optional coupon, line by line, as an invoice
would price one full billing period (tax and credits are the invoice's business)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.control_plane.commands import PriceIn, QuoteIn
from billing.control_plane.models import Coupon
from billing.errors import Invalid
from billing.rules.pricing import PriceLine, PriceResult, PricingError, calculate, round_money
from billing.services.coupons import redeemable_coupon
from billing.services.plans import charge_price, check_currency, current_plan, to_price


@dataclass(frozen=True)
class QuoteLine:
    kind: str  # base_fee, usage, minimum_commitment or discount
    description: str
    amount: str
    meter: str | None = None
    quantity: Decimal | None = None
    detail: tuple[PriceLine, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Quote:
    plan_code: str
    plan_version: int
    currency: str
    lines: list[QuoteLine]
    subtotal: str
    discount: str
    total: str


def calculate_price(currency: str, quantity: Decimal, price: PriceIn) -> PriceResult:
    """Price a quantity with the one pricing engine; a pricing error is a 422 naming the
    field (``quantity`` for any quantity problem)."""
    check_currency(currency)
    engine_price = to_price(price)
    try:
        return calculate(engine_price, quantity, currency)
    except PricingError as exc:
        raise Invalid(
            exc.message, "quantity" if exc.field.startswith("quantity") else exc.field
        ) from None


def coupon_discount(coupon: Coupon, subtotal: Decimal, currency: str) -> Decimal:
    """What a coupon takes off a subtotal: a percentage rounded half-up, or an amount that never
    takes the subtotal below zero."""
    if coupon.percent_off is not None:
        return min(round_money(subtotal * coupon.percent_off / 100, currency), subtotal)
    return min(round_money(coupon.amount_off or Decimal(0), currency), subtotal)


def quote(session: Session, body: QuoteIn, now: datetime) -> Quote:
    plan = current_plan(session, body.plan_code)
    currency = plan.currency
    charges = {c.meter_key: c for c in plan.charges}
    for meter in body.usage:
        if meter not in charges:
            raise Invalid(f"plan {plan.code!r} has no charge for meter {meter!r}", f"usage.{meter}")
    lines: list[QuoteLine] = []
    if plan.base_fee_amount:
        lines.append(
            QuoteLine(
                kind="base_fee",
                description=f"{plan.name} base fee",
                amount=str(round_money(plan.base_fee_amount, currency)),
            )
        )
    for charge in plan.charges:
        quantity = body.usage.get(charge.meter_key, Decimal(0))
        try:
            result = calculate(charge_price(charge), quantity, currency)
        except PricingError as exc:
            raise Invalid(exc.message, f"usage.{charge.meter_key}") from None
        lines.append(
            QuoteLine(
                kind="usage",
                description=f"{charge.meter_key} ({charge.price_model})",
                meter=charge.meter_key,
                quantity=quantity,
                amount=str(result.amount),
                detail=result.lines,
            )
        )
        if charge.minimum_amount is not None:
            minimum = round_money(charge.minimum_amount, currency)
            if result.amount < minimum:
                lines.append(
                    QuoteLine(
                        kind="minimum_commitment",
                        description=f"{charge.meter_key} minimum commitment true-up",
                        meter=charge.meter_key,
                        amount=str(minimum - result.amount),
                    )
                )
    subtotal = sum((Decimal(line.amount) for line in lines), Decimal(0))
    subtotal = round_money(subtotal, currency)
    discount = round_money(Decimal(0), currency)
    if body.coupon_code:
        coupon = redeemable_coupon(session, body.coupon_code, now)
        if coupon.plan_codes and plan.code not in coupon.plan_codes:
            raise Invalid(
                f"coupon {coupon.code!r} does not apply to plan {plan.code!r}", "coupon_code"
            )
        if coupon.amount_off is not None and coupon.currency != currency:
            raise Invalid(
                f"coupon {coupon.code!r} is in {coupon.currency}, the plan in {currency}",
                "coupon_code",
            )
        discount = coupon_discount(coupon, subtotal, currency)
        lines.append(
            QuoteLine(
                kind="discount",
                description=f"Coupon {coupon.code}",
                amount=str(-discount),
            )
        )
    return Quote(
        plan_code=plan.code,
        plan_version=plan.version,
        currency=currency,
        lines=lines,
        subtotal=str(subtotal),
        discount=str(discount),
        total=str(round_money(subtotal - discount, currency)),
    )
