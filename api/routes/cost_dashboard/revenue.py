"""Cost dashboard, billing views: revenue, invoices by state and the tiles."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import ClockDep, ReaderDep, SessionDep
from api.routes.cost_dashboard.shared import (
    PeriodQuery,
    money_chart,
)
from api.schemas.cost_dashboard import (
    InvoiceRow,
    InvoiceStatusPublic,
    InvoiceStatusRow,
    OverviewPublic,
    RevenuePublic,
    RevenueRow,
    Series,
    Tile,
)
from api.serving import read_mart, row_of
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.services import invoices as invoice_logic
from billing.timeutil import period_of

router = APIRouter()


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
    served = read_mart(
        reader,
        "select tenant_id, period_start, currency, invoice_count, revenue_amount, tax_amount, "
        "credit_amount, billed_amount from {fct_tenant_revenue}{where} "
        "order by period_start, tenant_id, currency",
        ("period_start", ">=", "start", check_period_start(start, "start")),
        ("period_start", "<=", "end", check_period_start(end, "end")),
        tenant_id=tenant_id,
        currency=currency,
    )
    if served is None:
        return RevenuePublic(labels=[], series=[], rows=[])
    rows, info = served
    labels, series = money_chart(rows, "period_start", "tenant_id", "revenue_amount")
    return RevenuePublic(
        labels=labels,
        series=series,
        rows=[
            row_of(RevenueRow, r, "revenue", "tax", "credits", "billed", credits="credit_amount")
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
    """Invoices by state (count and total per currency; one series per state over periods)
    and the latest invoices. The state is the payment status of a finalized invoice once
    collection has started (`paid`, `payment_failed`, `uncollectible`, ...), otherwise its
    lifecycle status (`draft`, `finalized`, `void`, voids applied as soon as they are made).
    `status` filters on the lifecycle status."""
    served = read_mart(
        reader,
        "select invoice_id, invoice_number, status, tenant_id, period_start, currency, "
        "total_amount from {fct_invoices}{where} order by period_start desc, tenant_id, invoice_id",
        period_start=check_period_start(period_start),
        tenant_id=tenant_id,
    )
    if served is None:
        return InvoiceStatusPublic(
            labels=[], series=[], period_start=period_start, by_status=[], invoices=[]
        )
    rows, info = served
    voided = invoice_logic.voided_ids(session)
    for r in rows:
        if r["status"] == "finalized" and r["invoice_id"] in voided:
            r["status"] = "void"
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    payments = invoice_logic.payment_statuses(session, [r["invoice_id"] for r in rows])
    for r in rows:
        r["payment_status"] = payments.get(r["invoice_id"])
        r["state"] = (r["status"] == "finalized" and r["payment_status"]) or r["status"]
    totals: dict[tuple[str, str], list] = {}
    per_period: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        entry = totals.setdefault((r["state"], r["currency"]), [0, Decimal(0)])
        entry[0] += 1
        entry[1] += Decimal(r["total_amount"])
        per_period[r["state"]][r["period_start"].isoformat()] += 1
    labels = sorted({r["period_start"].isoformat() for r in rows})
    return InvoiceStatusPublic(
        labels=labels,
        series=[
            Series(name=s, data=[str(per_period[s].get(p, 0)) for p in labels])
            for s in sorted(per_period)
        ],
        period_start=period_start,
        by_status=[
            InvoiceStatusRow(status=s, currency=c, count=n, total=money_text(total, c))
            for (s, c), (n, total) in sorted(totals.items())
        ],
        invoices=[
            row_of(InvoiceRow, r, "total", id="invoice_id", number="invoice_number")
            for r in rows[:limit]
        ],
        as_of=info.published_at,
    )


@router.get("/overview", response_model=OverviewPublic)
def overview(reader: ReaderDep, session: SessionDep, clock: ClockDep, period: PeriodQuery = None):
    """The tiles: revenue, billed amount, tenants and invoices of a period (default: the
    current one)."""
    start = check_period_start(period, "period") or period_of(clock())[0]
    served = read_mart(
        reader,
        "select currency, sum(revenue_amount) as revenue_amount, "
        "sum(billed_amount) as billed_amount, count(distinct tenant_id) as tenants, "
        "sum(invoice_count) as invoices, sum(draft_invoice_count) as drafts "
        "from {fct_tenant_revenue}{where} group by currency order by currency",
        period_start=start,
    )
    if served is None:
        return OverviewPublic(period_start=start, tiles=[])
    revenue_rows, info = served
    tiles = []
    for r in revenue_rows:
        cur = r["currency"]
        tiles += [
            Tile(
                key=f"revenue_{cur}",
                label=f"Revenue ({cur})",
                value=money_text(r["revenue_amount"], cur),
                currency=cur,
            ),
            Tile(
                key=f"billed_{cur}",
                label=f"Billed ({cur})",
                value=money_text(r["billed_amount"], cur),
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
