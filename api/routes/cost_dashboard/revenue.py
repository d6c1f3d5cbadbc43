"""Cost dashboard, billing views: revenue, invoices by state, the tiles, tenant margin and
unit costs."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Query

from api.deps import ClockDep, ReaderDep, SessionDep
from api.routes.cost_dashboard.shared import (
    PeriodQuery,
    latest,
    money_chart,
    router,
)
from api.schemas.cost_dashboard import (
    InvoiceRow,
    InvoiceStatusPublic,
    InvoiceStatusRow,
    MarginPublic,
    MarginRow,
    OverviewPublic,
    RevenuePublic,
    RevenueRow,
    Series,
    Tile,
    UnitCostRow,
    UnitCostsPublic,
)
from api.serving import plain_number, read_mart, row_of
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.services import invoices as invoice_logic
from billing.timeutil import period_of


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
