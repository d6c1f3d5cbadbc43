"""Response schemas (``*Public``): quotas."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class QuotaPublic(BaseModel):
    id: int
    tenant_id: str
    meter: str
    period: str
    limit: Plain
    enforcement: str
    alert_thresholds: list[Plain]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class QuotasPublic(BaseModel):
    data: list[QuotaPublic]
    count: int


class QuotaCheck(BaseModel):
    tenant_id: str
    meter: str
    period_start: date
    allowed: bool
    warning: bool = Field(description="A soft quota is (or would be) exceeded.")
    used: Plain
    quantity: Plain
    remaining: Plain | None
    limit: Plain | None
    enforcement: str | None


class QuotaStatus(BaseModel):
    id: int
    meter: str
    limit: Plain
    enforcement: str
    used: Plain
    remaining: Plain
    percent_used: Plain
    thresholds_reached: list[Plain]


class QuotaStatusPublic(BaseModel):
    tenant_id: str
    period_start: date
    data: list[QuotaStatus]
