"""Response schemas (``*Public``): costs."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class CostFilePublic(BaseModel):
    file_id: str
    file_name: str
    status: Literal["pending", "landed", "superseded", "failed"]
    format: str | None = None
    provider: str | None = None
    row_count: int | None = None
    error: str | None = None
    billing_period_start: UtcDateTime | None = None
    billing_period_end: UtcDateTime | None = None
    currencies: str | None = None
    billed_cost: Plain | None = None
    effective_cost: Plain | None = None
    landed_at: UtcDateTime | None = None
    superseded_by: str | None = None
    duplicate_of: str | None = None  # an upload of content uploaded before: that file's name


class CostFilesPublic(BaseModel):
    data: list[CostFilePublic]
    count: int
    snapshot: str | None = None


class CostCenterCostPublic(BaseModel):
    cost_center: str
    name: str
    parent_code: str | None
    period_start: date
    currency: str
    direct: str
    shared: str
    total: str
    rolled_up_direct: str
    rolled_up_shared: str
    rolled_up_total: str
    monthly_budget: Plain | None
    budget_currency: str | None


class CostCenterCostsPublic(BaseModel):
    data: list[CostCenterCostPublic]
    count: int
    snapshot: str | None = None


class CostCoveragePublic(BaseModel):
    period_start: date
    currency: str
    line_count: int
    source_effective_cost: str
    source_billed_cost: str
    allocated: str
    unallocated: str
    allocated_to_centers: str
    coverage_ratio: Plain | None


class CostCoveragesPublic(BaseModel):
    data: list[CostCoveragePublic]
    count: int
    snapshot: str | None = None


class CostLinePublic(BaseModel):
    kind: str
    subscription_id: str
    plan_code: str
    plan_version: int
    meter: str | None
    quantity: Plain | None
    projected_quantity: Plain | None
    amount: Plain
    projected_amount: Plain


class RealtimeCostMetric(BaseModel):
    """A tenant's cost for a period as it happens, from the real-time consumer's totals."""

    tenant_id: str
    period_start: date
    period_end: date
    as_of: UtcDateTime
    currency: str | None
    month_to_date: Plain
    projected_month_end: Plain
    projection_method: str = Field(
        "linear by elapsed time for sum and count meters; current value for max, latest and "
        "unique_count; minimum commitments trued up at month end"
    )
    usage: dict[str, Plain]
    lines: list[CostLinePublic]


class DriftPublic(BaseModel):
    tenant_id: str
    meter: str
    period_start: date
    realtime_quantity: Plain | None
    warehouse_quantity: Plain | None
    difference: Plain


class ReconciliationPublic(BaseModel):
    run_id: int | None
    run_at: UtcDateTime | None
    snapshot: str | None
    compared: int
    drifted: int
    drifts: list[DriftPublic]
