"""Price calculations with the one pricing engine (``ingestion.pricing``), which the warehouse
uses too, through the same rules in ``dbt_project/macros/pricing.sql``."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import CallerDep, ClockDep, SessionDep
from api.errors import Invalid
from api.plans import check_currency, to_price
from api.quotes import quote
from api.schemas import CalculateIn, CalculatePublic, PriceLinePublic, QuoteIn, QuotePublic
from ingestion.pricing import PricingError, calculate

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
