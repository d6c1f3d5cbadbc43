"""Response schemas (``*Public``): coupons."""

from __future__ import annotations

from pydantic import BaseModel

from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class CouponPublic(BaseModel):
    code: str
    name: str
    percent_off: Plain | None
    amount_off: Plain | None
    currency: str | None
    duration: str
    duration_in_months: int | None
    max_redemptions: int | None
    times_redeemed: int
    redeem_by: UtcDateTime | None
    plan_codes: list[str]
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class CouponsPublic(BaseModel):
    data: list[CouponPublic]
    count: int
