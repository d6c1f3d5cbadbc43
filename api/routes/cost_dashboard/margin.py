"""Cost dashboard, unit economics: tenant margin (revenue vs allocated cloud cost) and the
cost per unit of a meter."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from api.deps import ReaderDep
from api.routes.cost_dashboard.shared import PeriodQuery, latest
from api.schemas.cost_dashboard import MarginPublic, MarginRow, Series, UnitCostRow, UnitCostsPublic
from api.serving import plain_number, read_mart, row_of
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text

router = APIRouter()


@router.get("/tenant-margin", response_model=MarginPublic)
def tenant_margin(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    tenant_id: str | None = None,
    currency: str | None = None,
):
    """Revenue vs allocated cloud cost per tenant for a billing period (default: the latest),
    gross margin and margin percentage (of revenue)."""
    served = read_mart(
        reader,
        "select tenant_id, period_start, currency, revenue_amount, allocated_cost_amount, "
        "gross_margin_amount from {fct_tenant_margin}{where} "
        "order by period_start, tenant_id, currency",
        period_start=check_period_start(period_start),
        tenant_id=tenant_id,
        currency=currency,
    )
    if served is None:
        return MarginPublic(labels=[], series=[], period_start=period_start, rows=[])
    rows, info = served
    chosen = latest(rows, "period_start", period_start)
    rows = [r for r in rows if r["period_start"] == chosen]

    def percentage(r) -> str | None:
        revenue_amount = Decimal(r["revenue_amount"])
        if revenue_amount == 0:
            return None
        value = Decimal(r["gross_margin_amount"]) * 100 / revenue_amount
        return str(value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))

    out = [
        row_of(
            MarginRow,
            {**r, "gross_margin_percentage": percentage(r)},
            *("revenue", "allocated_cost", "gross_margin"),
        )
        for r in rows
    ]
    return MarginPublic(
        labels=[r.tenant_id for r in out],
        series=[
            Series(name="revenue", data=[r.revenue for r in out]),
            Series(name="allocated cost", data=[r.allocated_cost for r in out]),
            Series(name="gross margin", data=[r.gross_margin for r in out]),
        ],
        period_start=chosen,
        rows=out,
        as_of=info.published_at,
    )


@router.get("/unit-costs", response_model=UnitCostsPublic)
def unit_costs(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    meter: str | None = None,
    currency: str | None = None,
):
    """Unit economics: for each cost pool split by a meter's usage, allocated cost ÷ the
    meter's quantity in the period = cost per unit (6 decimals, half-up)."""
    served = read_mart(
        reader,
        "select period_start, currency, meter_key, unit, rule_name, allocated_cost_amount, "
        "quantity, tenant_count from {fct_meter_unit_costs}{where} "
        "order by period_start, meter_key, currency, rule_name",
        period_start=check_period_start(period_start),
        meter_key=meter,
        currency=currency,
    )
    if served is None:
        return UnitCostsPublic(labels=[], series=[], period_start=period_start, rows=[])
    rows, info = served
    chosen = latest(rows, "period_start", period_start)
    out = []
    for r in rows:
        if r["period_start"] != chosen:
            continue
        quantity = Decimal(r["quantity"])
        cost = Decimal(r["allocated_cost_amount"])
        out.append(
            UnitCostRow(
                period_start=r["period_start"],
                currency=r["currency"],
                meter=r["meter_key"],
                unit=r["unit"],
                rule=r["rule_name"],
                allocated_cost=money_text(cost, r["currency"]),
                quantity=plain_number(quantity),
                tenants=r["tenant_count"],
                unit_cost=None
                if quantity == 0
                else str((cost / quantity).quantize(Decimal("0.000001"), rounding="ROUND_HALF_UP")),
            )
        )
    return UnitCostsPublic(
        labels=[f"{r.meter} ({r.currency} per {r.unit or 'unit'})" for r in out],
        series=[Series(name="unit cost", data=[r.unit_cost for r in out])],
        period_start=chosen,
        rows=out,
        as_of=info.published_at,
    )
