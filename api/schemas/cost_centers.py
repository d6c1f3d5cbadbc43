"""Response schemas (``*Public``): cost centers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class CostCenterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    parent_code: str | None
    owner: str | None
    monthly_budget: Plain | None
    budget_currency: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CostCentersPublic(BaseModel):
    data: list[CostCenterPublic]
    count: int


class TenantCostCenterPublic(BaseModel):
    tenant_id: str
    cost_center: str


class TenantCostCentersPublic(BaseModel):
    data: list[TenantCostCenterPublic]
    count: int
