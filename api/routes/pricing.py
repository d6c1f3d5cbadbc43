"""Price calculations with the one pricing engine (``billing.rules.pricing``), which the warehouse
uses too, through the same rules in ``dbt_project/macros/pricing.sql``."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import CallerDep, ClockDep, SessionDep
from billing.errors import Invalid
from billing.rules.pricing import PricingError, calculate
from billing.schemas import CalculateIn, CalculatePublic, PriceLinePublic, QuoteIn, QuotePublic
from billing.services.plans import check_currency, to_price
from billing.services.quotes import quote

router = APIRouter(prefix="/pricing", tags=["pricing"])


@router.post("/calculate", response_model=CalculatePublic)
def calculate_price(body: CalculateIn, _caller: CallerDep):
    """Price a quantity: one line per tier or package step; the amount is rounded half-up to
    the currency's minor unit once, at the end."""
    check_currency(body.currency)
    price = to_price(body.price)
    try:
        result = calculate(price, body.quantity, body.currency)
    except PricingError as exc:
        raise Invalid(
            exc.message, "quantity" if exc.field.startswith("quantity") else exc.field
        ) from None
    return CalculatePublic(
        amount=str(result.amount),
        currency=result.currency,
        lines=[PriceLinePublic(**asdict(line)) for line in result.lines],
    )


@router.post("/quote", response_model=QuotePublic)
def quote_plan(body: QuoteIn, session: SessionDep, _caller: CallerDep, clock: ClockDep):
    """Price a plan for a usage map (meter -> quantity) and an optional coupon, line by line,
    as one full billing period's invoice would."""
    return quote(session, body, clock())
