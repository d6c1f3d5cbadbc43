"""Response schemas of the cost dashboard: chart-ready series (``labels`` and ``series``)
and the rows behind them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from billing.timeutil import UtcDateTime


class Series(BaseModel):
    name: str
    currency: str | None = None
    data: list[str | None]


class ChartPublic(BaseModel):
    labels: list[str]
    series: list[Series]
    as_of: UtcDateTime | None = None


class RevenueRow(BaseModel):
    tenant_id: str
    period_start: date
    currency: str
    invoice_count: int
    revenue: str
    tax: str
    credits: str
    billed: str


class RevenuePublic(ChartPublic):
    rows: list[RevenueRow]


class InvoiceStatusRow(BaseModel):
    status: str
    currency: str
    count: int
    total: str


class InvoiceRow(BaseModel):
    id: str
    number: str | None
    status: str
    payment_status: str | None = None
    tenant_id: str
    period_start: date
    currency: str
    total: str


class InvoiceStatusPublic(ChartPublic):
    period_start: date | None
    by_status: list[InvoiceStatusRow]
    invoices: list[InvoiceRow]


class Tile(BaseModel):
    key: str
    label: str
    value: str
    currency: str | None = None


class OverviewPublic(BaseModel):
    period_start: date
    tiles: list[Tile]
    as_of: UtcDateTime | None = None


class CostRow(BaseModel):
    provider: str
    service: str
    currency: str
    cost: str
    previous_cost: str | None = None
    change: str | None = None


class MonthlyPublic(ChartPublic):
    month_start: date | None
    rows: list[CostRow]
    movers: list[CostRow]


class ForecastRow(BaseModel):
    provider: str
    service: str
    currency: str
    month_start: date
    as_of: date
    days_elapsed: int
    days_remaining: int
    month_to_date: str
    run_rate: str
    forecast: str


class ForecastPublic(BaseModel):
    totals: list[ForecastRow]
    rows: list[ForecastRow]
    as_of: UtcDateTime | None = None


class AnomalyRow(BaseModel):
    provider: str
    service: str
    cost_center: str | None = None
    currency: str
    day: date
    cost: str
    baseline: str
    mad: str
    deviation: str


class AnomaliesPublic(ChartPublic):
    anomalies: list[AnomalyRow]


class CostCenterRow(BaseModel):
    cost_center: str
    name: str | None
    parent: str | None
    currency: str
    direct: str
    shared: str
    total: str
    rolled_up_total: str


class CostCentersPublic(ChartPublic):
    period_start: date | None
    rows: list[CostCenterRow]


class MarginRow(BaseModel):
    tenant_id: str
    period_start: date
    currency: str
    revenue: str
    allocated_cost: str
    gross_margin: str
    gross_margin_percentage: str | None


class MarginPublic(ChartPublic):
    period_start: date | None
    rows: list[MarginRow]


class UnitCostRow(BaseModel):
    period_start: date
    currency: str
    meter: str
    unit: str | None
    rule: str | None
    allocated_cost: str
    quantity: str
    tenants: int
    unit_cost: str | None = None


class UnitCostsPublic(ChartPublic):
    period_start: date | None
    rows: list[UnitCostRow]
