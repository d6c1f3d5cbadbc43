"""Response schemas (``*Public``): pricing."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class PriceLinePublic(BaseModel):
    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    flat_amount: Decimal
    amount: Decimal = Field(description="Unrounded; the total is rounded once, at the end.")
    tier: int | None


class CalculatePublic(BaseModel):
    amount: str = Field(description="Rounded half-up to the currency's minor unit.")
    currency: str
    lines: list[PriceLinePublic]


class QuoteLinePublic(BaseModel):
    kind: Literal["base_fee", "usage", "minimum_commitment", "discount"]
    description: str
    meter: str | None = None
    quantity: Decimal | None = None
    amount: str
    detail: list[PriceLinePublic] = Field(default_factory=list)


class QuotePublic(BaseModel):
    plan_code: str
    plan_version: int
    currency: str
    lines: list[QuoteLinePublic]
    subtotal: str
    discount: str
    total: str
