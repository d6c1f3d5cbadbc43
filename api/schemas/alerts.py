"""Response schemas (``*Public``): alerts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from api.schemas.common import Page
from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class BudgetPublic(BaseModel):
    tenant_id: str
    currency: str
    amount: Plain
    alert_thresholds: list[Plain]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class BudgetsPublic(BaseModel):
    data: list[BudgetPublic]
    count: int


class MilestonePublic(BaseModel):
    id: int
    meter: str
    tenant_id: str | None
    levels: list[Plain]
    created_at: UtcDateTime


class MilestonesPublic(BaseModel):
    data: list[MilestonePublic]
    count: int


class DeliveryPublic(BaseModel):
    status: str
    attempts: int
    published_at: UtcDateTime | None
    delivered_at: UtcDateTime | None
    next_attempt_at: UtcDateTime | None
    last_status_code: int | None
    last_error: str | None


class AlertPublic(BaseModel):
    id: int
    kind: str
    scope: str
    tenant_id: str
    meter: str | None
    period_start: date
    threshold: str
    value: Plain
    limit: Plain | None
    source: str
    fired_at: UtcDateTime
    details: dict
    delivery: DeliveryPublic | None


class AlertsPublic(Page[AlertPublic]):
    pass
