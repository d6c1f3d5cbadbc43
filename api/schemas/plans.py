"""Response schemas (``*Public``): plans."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from api.schemas.common import from_attrs
from billing.control_plane.commands import Plain, plain_decimal
from billing.control_plane.models import Plan
from billing.rules.pricing import Price
from billing.services.plans import charge_price
from billing.timeutil import UtcDateTime


class BaseFeePublic(BaseModel):
    amount: Plain
    timing: Literal["in_advance", "in_arrears"]
    proration: Literal["day", "second"]


class ChargePublic(BaseModel):
    meter: str
    price: dict
    minimum_amount: Plain | None


class PlanPublic(BaseModel):
    id: int
    code: str
    version: int
    name: str
    description: str
    currency: str
    interval: str
    base_fee: BaseFeePublic
    trial_days: int
    charges: list[ChargePublic]
    created_at: UtcDateTime
    superseded_at: UtcDateTime | None
    archived_at: UtcDateTime | None
    is_current: bool


class PlansPublic(BaseModel):
    data: list[PlanPublic]
    count: int


def price_public(price: Price) -> dict:
    out: dict = {"model": price.model.value, "free_units": plain_decimal(price.free_units)}
    for name in ("unit_amount", "package_size", "flat_amount"):
        if getattr(price, name) is not None:
            out[name] = plain_decimal(getattr(price, name))
    if price.tiers:
        out["tiers"] = tiers_public(price.tiers)
    return out


def tiers_public(tiers) -> list[dict]:
    """Price tiers as the API shows them (plans and overrides alike)."""
    return [
        {
            "up_to": plain_decimal(t.up_to),
            "unit_amount": plain_decimal(t.unit_amount),
            "flat_amount": plain_decimal(t.flat_amount),
        }
        for t in tiers
    ]


def plan_public(plan: Plan) -> PlanPublic:
    return from_attrs(
        PlanPublic,
        plan,
        base_fee={
            "amount": plan.base_fee_amount,
            "timing": plan.base_fee_timing,
            "proration": plan.base_fee_proration,
        },
        charges=[
            ChargePublic(
                meter=c.meter_key,
                price=price_public(charge_price(c)),
                minimum_amount=c.minimum_amount,
            )
            for c in plan.charges
        ],
        is_current=plan.superseded_at is None and plan.archived_at is None,
    )
