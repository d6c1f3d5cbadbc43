"""Allocated cloud cost per cost center and billing period, and allocation coverage, read
from the serving snapshot (fct_cost_center_costs, fct_cost_allocation_coverage)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from adapters.warehouse.serving import MissingTable, NoSnapshot
from api.deps import ReaderDep, require_admin
from api.schemas.costs import (
    CostCenterCostPublic,
    CostCenterCostsPublic,
    CostCoveragePublic,
    CostCoveragesPublic,
)
from api.serving import plain_number, read_mart, row_of
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.timeutil import IsoDate

router = APIRouter(prefix="/costs", tags=["cloud costs"], dependencies=[Depends(require_admin)])

CENTER_MONEY = (
    "direct",
    "shared",
    "total",
    "rolled_up_direct",
    "rolled_up_shared",
    "rolled_up_total",
)

PeriodQuery = Annotated[IsoDate | None, Query(description="A billing period's first day.")]


def _money(amount, currency: str) -> str:
    return money_text(amount, currency, unknown_currency_as_is=True)


def _served(reader, table: str, order: str, *filters, **equal):
    """The rows of a cost mart, or None before it is published."""
    return read_mart(
        reader,
        f"select * from {{{table}}}{{where}} order by {order}",
        *filters,
        missing=(NoSnapshot, MissingTable),
        **equal,
    )


def _filters(period_start: date | None, currency: str | None) -> tuple:
    return (
        ("billing_period_start", "=", "period_start", check_period_start(period_start)),
        ("currency", "=", "currency", currency.upper() if currency is not None else None),
    )


@router.get("/cost-centers", response_model=CostCenterCostsPublic)
def cost_center_costs(
    reader: ReaderDep,
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
        row_of(
            CostCenterCostPublic,
            r,
            *CENTER_MONEY,
            fmt=_money,
            cost_center="cost_center_code",
            name="cost_center_name",
            parent_code="parent_cost_center_code",
            period_start="billing_period_start",
            monthly_budget="monthly_budget_amount",
        )
        for r in rows
    ]
    return CostCenterCostsPublic(data=data, count=len(data), snapshot=info.name)


@router.get("/coverage", response_model=CostCoveragesPublic)
def allocation_coverage(
    reader: ReaderDep,
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
        row_of(
            CostCoveragePublic,
            {
                **r,
                "source_effective_cost": plain_number(r["source_effective_cost"]),
                "source_billed_cost": plain_number(r["source_billed_cost"]),
            },
            *("allocated", "unallocated", "allocated_to_centers"),
            fmt=_money,
            period_start="billing_period_start",
        )
        for r in rows
    ]
    return CostCoveragesPublic(data=data, count=len(data), snapshot=info.name)
