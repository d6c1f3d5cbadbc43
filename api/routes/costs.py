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
from billing.errors import Invalid
from billing.rules.pricing import PricingError, round_money
from billing.timeutil import IsoDate

router = APIRouter(prefix="/costs", tags=["cloud costs"])

PeriodQuery = Annotated[IsoDate | None, Query(description="A billing period's first day.")]


def _money(amount, currency: str) -> str:
    try:
        return str(round_money(Decimal(amount), currency))
    except PricingError:
        return format(Decimal(amount), "f")


def _filters(period_start: date | None, currency: str | None) -> tuple[list[str], dict]:
    clauses, params = [], {}
    if period_start is not None:
        if period_start.day != 1:
            raise Invalid("must be the first day of a billing period", "period_start")
        clauses.append("billing_period_start = :period_start")
        params["period_start"] = period_start
    if currency is not None:
        clauses.append("currency = :currency")
        params["currency"] = currency.upper()
    return clauses, params


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
    clauses, params = _filters(period_start, currency)
    if cost_center is not None:
        clauses.append("cost_center_code = :cost_center")
        params["cost_center"] = cost_center
    where = (" where " + " and ".join(clauses)) if clauses else ""
    try:
        rows, info = reader.query(
            f"select * from {{fct_cost_center_costs}}{where} "
            "order by billing_period_start desc, currency, cost_center_code",
            params,
        )
    except (NoSnapshot, MissingTable):
        return CostCenterCostsPublic(data=[], count=0)
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
    clauses, params = _filters(period_start, currency)
    where = (" where " + " and ".join(clauses)) if clauses else ""
    try:
        rows, info = reader.query(
            f"select * from {{fct_cost_allocation_coverage}}{where} "
            "order by billing_period_start desc, currency",
            params,
        )
    except (NoSnapshot, MissingTable):
        return CostCoveragesPublic(data=[], count=0)
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
