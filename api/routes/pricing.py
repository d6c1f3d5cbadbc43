"""Price calculations with the one pricing engine (``billing.rules.pricing``), which the warehouse
uses too, through the same rules in ``dbt_project/macros/pricing.sql``."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import CallerDep, ClockDep, SessionDep
from api.schemas.pricing import CalculatePublic, PriceLinePublic, QuotePublic
from billing.control_plane.commands import CalculateIn, QuoteIn
from billing.services import quotes

router = APIRouter(prefix="/pricing", tags=["pricing"])


@router.post("/calculate", response_model=CalculatePublic)
def calculate_price(body: CalculateIn, _caller: CallerDep):
    """Price a quantity: one line per tier or package step; the amount is rounded half-up to
    the currency's minor unit once, at the end."""
    result = quotes.calculate_price(body.currency, body.quantity, body.price)
    return CalculatePublic(
        amount=str(result.amount),
        currency=result.currency,
        lines=[PriceLinePublic(**asdict(line)) for line in result.lines],
    )


@router.post("/quote", response_model=QuotePublic)
def quote_plan(body: QuoteIn, session: SessionDep, _caller: CallerDep, clock: ClockDep):
    """Price a plan for a usage map (meter -> quantity) and an optional coupon, line by line,
    as one full billing period's invoice would."""
    return QuotePublic.model_validate(asdict(quotes.quote(session, body, clock())))
