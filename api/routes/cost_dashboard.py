"""Cost dashboard: chart-ready series read from the dashboard marts in the serving snapshot.

Every response has ``labels`` (the x axis: periods or days) and ``series`` (one per line or
bar: a name and one decimal string per label, money rounded half-up to the currency's minor
unit), plus the rows behind them where a table is useful. The finance view of the whole
warehouse: admin key only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import ClockDep, ReaderDep, SessionDep, require_admin
from api.errors import Invalid
from api.models import InvoiceVoid
from api.timeutil import period_of
from ingestion.pricing import round_money
from ingestion.serving import NoSnapshot

router = APIRouter(
    prefix="/cost-dashboard", tags=["cost dashboard"], dependencies=[Depends(require_admin)]
)

PeriodQuery = Annotated[
    date | None, Query(description="A billing period's first day (UTC calendar month).")
]


class Series(BaseModel):
    name: str
    currency: str | None = None
    data: list[str | None]


class ChartPublic(BaseModel):
    labels: list[str]
    series: list[Series]
    as_of: datetime | None = None


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
    as_of: datetime | None = None


def _money(amount, currency: str) -> str:
    return str(round_money(Decimal(amount), currency))


def _period(value: date | None, field: str) -> date | None:
    if value is not None and value.day != 1:
        raise Invalid("must be the first day of a billing period", field)
    return value


def _where(*filters: tuple[str, str, str, object]) -> tuple[str, dict]:
    """A where clause from (column, operator, parameter, value) filters; None values skipped."""
    clauses, params = [], {}
    for column, operator, name, value in filters:
        if value is not None:
            clauses.append(f"{column} {operator} :{name}")
            params[name] = value
    return (" where " + " and ".join(clauses)) if clauses else "", params


def _voided(session) -> set[str]:
    return set(session.scalars(select(InvoiceVoid.invoice_id)).all())


@router.get("/revenue", response_model=RevenuePublic)
def revenue(
    reader: ReaderDep,
    start: PeriodQuery = None,
    end: PeriodQuery = None,
    tenant_id: str | None = None,
    currency: str | None = None,
):
    """Revenue (subtotal − discounts of invoices that are not void) per tenant and period:
    labels are periods from ``start`` to ``end`` (inclusive), one series per tenant."""
    where, params = _where(
        ("period_start", ">=", "start", _period(start, "start")),
        ("period_start", "<=", "end", _period(end, "end")),
        ("tenant_id", "=", "tenant_id", tenant_id),
        ("currency", "=", "currency", currency),
    )
    try:
        rows, info = reader.query(
            "select tenant_id, period_start, currency, invoice_count, revenue_amount, "
            f"tax_amount, credit_amount, billed_amount from {{fct_tenant_revenue}}{where} "
            "order by period_start, tenant_id, currency",
            params,
        )
    except NoSnapshot:
        return RevenuePublic(labels=[], series=[], rows=[])
    labels = sorted({r["period_start"].isoformat() for r in rows})
    values: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in rows:
        values[(r["tenant_id"], r["currency"])][r["period_start"].isoformat()] = _money(
            r["revenue_amount"], r["currency"]
        )
    return RevenuePublic(
        labels=labels,
        series=[
            Series(name=tenant, currency=cur, data=[by_period.get(p) for p in labels])
            for (tenant, cur), by_period in sorted(values.items())
        ],
        rows=[
            RevenueRow(
                tenant_id=r["tenant_id"],
                period_start=r["period_start"],
                currency=r["currency"],
                invoice_count=r["invoice_count"],
                revenue=_money(r["revenue_amount"], r["currency"]),
                tax=_money(r["tax_amount"], r["currency"]),
                credits=_money(r["credit_amount"], r["currency"]),
                billed=_money(r["billed_amount"], r["currency"]),
            )
            for r in rows
        ],
        as_of=info.published_at,
    )


@router.get("/invoices", response_model=InvoiceStatusPublic)
def invoice_status(
    reader: ReaderDep,
    session: SessionDep,
    period_start: PeriodQuery = None,
    tenant_id: str | None = None,
    status: Literal["draft", "finalized", "void"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """Invoices by status (count and total per currency; one series per status over periods)
    and the latest invoices. Payment statuses arrive with payment collection; until then the
    status is the invoice's lifecycle status, with voids applied as soon as they are made."""
    where, params = _where(
        ("period_start", "=", "period_start", _period(period_start, "period_start")),
        ("tenant_id", "=", "tenant_id", tenant_id),
    )
    try:
        rows, info = reader.query(
            "select invoice_id, invoice_number, status, tenant_id, period_start, currency, "
            f"total_amount from {{fct_invoices}}{where} "
            "order by period_start desc, tenant_id, invoice_id",
            params,
        )
    except NoSnapshot:
        return InvoiceStatusPublic(
            labels=[], series=[], period_start=period_start, by_status=[], invoices=[]
        )
    voided = _voided(session)
    for r in rows:
        if r["status"] == "finalized" and r["invoice_id"] in voided:
            r["status"] = "void"
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    totals: dict[tuple[str, str], list] = {}
    per_period: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        entry = totals.setdefault((r["status"], r["currency"]), [0, Decimal(0)])
        entry[0] += 1
        entry[1] += Decimal(r["total_amount"])
        per_period[r["status"]][r["period_start"].isoformat()] += 1
    labels = sorted({r["period_start"].isoformat() for r in rows})
    return InvoiceStatusPublic(
        labels=labels,
        series=[
            Series(name=s, data=[str(per_period[s].get(p, 0)) for p in labels])
            for s in sorted(per_period)
        ],
        period_start=period_start,
        by_status=[
            InvoiceStatusRow(status=s, currency=c, count=n, total=_money(total, c))
            for (s, c), (n, total) in sorted(totals.items())
        ],
        invoices=[
            InvoiceRow(
                id=r["invoice_id"],
                number=r["invoice_number"],
                status=r["status"],
                tenant_id=r["tenant_id"],
                period_start=r["period_start"],
                currency=r["currency"],
                total=_money(r["total_amount"], r["currency"]),
            )
            for r in rows[:limit]
        ],
        as_of=info.published_at,
    )


@router.get("/overview", response_model=OverviewPublic)
def overview(reader: ReaderDep, session: SessionDep, clock: ClockDep, period: PeriodQuery = None):
    """The tiles: revenue, billed amount, tenants and invoices of a period (default: the
    current one)."""
    start = _period(period, "period") or period_of(clock())[0]
    try:
        revenue_rows, info = reader.query(
            "select currency, sum(revenue_amount) as revenue_amount, "
            "sum(billed_amount) as billed_amount, count(distinct tenant_id) as tenants, "
            "sum(invoice_count) as invoices, sum(draft_invoice_count) as drafts "
            "from {fct_tenant_revenue} where period_start = :start group by currency "
            "order by currency",
            {"start": start},
        )
    except NoSnapshot:
        return OverviewPublic(period_start=start, tiles=[])
    tiles = []
    for r in revenue_rows:
        cur = r["currency"]
        tiles += [
            Tile(
                key=f"revenue_{cur}",
                label=f"Revenue ({cur})",
                value=_money(r["revenue_amount"], cur),
                currency=cur,
            ),
            Tile(
                key=f"billed_{cur}",
                label=f"Billed ({cur})",
                value=_money(r["billed_amount"], cur),
                currency=cur,
            ),
        ]
    tiles += [
        Tile(
            key="tenants",
            label="Tenants billed",
            value=str(sum(int(r["tenants"]) for r in revenue_rows)),
        ),
        Tile(
            key="invoices",
            label="Invoices",
            value=str(sum(int(r["invoices"]) for r in revenue_rows)),
        ),
        Tile(
            key="draft_invoices",
            label="Draft invoices",
            value=str(sum(int(r["drafts"]) for r in revenue_rows)),
        ),
    ]
    return OverviewPublic(period_start=start, tiles=tiles, as_of=info.published_at)
