"""Allocated cloud cost per cost center and billing period, and allocation coverage, read
from the serving snapshot (fct_cost_center_costs, fct_cost_allocation_coverage)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from adapters.warehouse.serving import MissingTable, NoSnapshot
from api.deps import AdminDep, ReaderDep
from api.schemas.costs import (
    CostCenterCostPublic,
    CostCenterCostsPublic,
    CostCoveragePublic,
    CostCoveragesPublic,
)
from api.serving import where_clause
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.timeutil import IsoDate

router = APIRouter(prefix="/costs", tags=["cloud costs"])

PeriodQuery = Annotated[IsoDate | None, Query(description="A billing period's first day.")]


def _money(amount, currency: str) -> str:
    return money_text(amount, currency, unknown_currency_as_is=True)


def _served(reader, table: str, order: str, *filters) -> tuple[list[dict], object] | None:
    """The rows of a cost mart matching (column, operator, parameter, value) filters, or None
    before it is published."""
    where, params = where_clause(*filters)
    try:
        return reader.query(f"select * from {{{table}}}{where} order by {order}", params)
    except (NoSnapshot, MissingTable):
        return None


def _filters(period_start: date | None, currency: str | None) -> tuple:
    return (
        ("billing_period_start", "=", "period_start", check_period_start(period_start)),
        ("currency", "=", "currency", currency.upper() if currency is not None else None),
    )


@router.get("/cost-centers", response_model=CostCenterCostsPublic)
def cost_center_costs(
    reader: ReaderDep,
    _admin: AdminDep,
    period_start: PeriodQuery = None,
    currency: str | None = None,
    cost_center: Annotated[str | None, Query(description="One center (rolled up).")] = None,
):
    """Direct, shared and total cost per cost center and billing period; `rolled_up_*`
    include the center's descendants. `unallocated` holds what no rule claimed."""
    served = _served(
        reader,
        "fct_cost_center_costs",
        "billing_period_start desc, currency, cost_center_code",
        *_filters(period_start, currency),
        ("cost_center_code", "=", "cost_center", cost_center),
    )
    if served is None:
        return CostCenterCostsPublic(data=[], count=0)
    rows, info = served
    data = [
        CostCenterCostPublic(
            cost_center=r["cost_center_code"],
            name=r["cost_center_name"],
            parent_code=r["parent_cost_center_code"],
            period_start=r["billing_period_start"],
            currency=r["currency"],
            direct=_money(r["direct_amount"], r["currency"]),
            shared=_money(r["shared_amount"], r["currency"]),
            total=_money(r["total_amount"], r["currency"]),
            rolled_up_direct=_money(r["rolled_up_direct_amount"], r["currency"]),
            rolled_up_shared=_money(r["rolled_up_shared_amount"], r["currency"]),
            rolled_up_total=_money(r["rolled_up_total_amount"], r["currency"]),
            monthly_budget=r["monthly_budget_amount"],
            budget_currency=r["budget_currency"],
        )
        for r in rows
    ]
    return CostCenterCostsPublic(data=data, count=len(data), snapshot=info.name)


@router.get("/coverage", response_model=CostCoveragesPublic)
def allocation_coverage(
    reader: ReaderDep,
    _admin: AdminDep,
    period_start: PeriodQuery = None,
    currency: str | None = None,
):
    """Per billing period and currency: source cost, allocated, unallocated and the coverage
    ratio (share of the cost allocated to real cost centers)."""
    served = _served(
        reader,
        "fct_cost_allocation_coverage",
        "billing_period_start desc, currency",
        *_filters(period_start, currency),
    )
    if served is None:
        return CostCoveragesPublic(data=[], count=0)
    rows, info = served
    data = [
        CostCoveragePublic(
            period_start=r["billing_period_start"],
            currency=r["currency"],
            line_count=r["line_count"],
            source_effective_cost=format(Decimal(r["source_effective_cost"]).normalize(), "f"),
            source_billed_cost=format(Decimal(r["source_billed_cost"]).normalize(), "f"),
            allocated=_money(r["allocated_amount"], r["currency"]),
            unallocated=_money(r["unallocated_amount"], r["currency"]),
            allocated_to_centers=_money(r["allocated_to_centers_amount"], r["currency"]),
            coverage_ratio=r["coverage_ratio"],
        )
        for r in rows
    ]
    return CostCoveragesPublic(data=data, count=len(data), snapshot=info.name)
