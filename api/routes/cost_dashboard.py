"""Cost dashboard: chart-ready series read from the dashboard marts in the serving snapshot.

Every response has ``labels`` (the x axis: periods or days) and ``series`` (one per line or
bar: a name and one decimal string per label, money rounded half-up to the currency's minor
unit), plus the rows behind them where a table is useful. The finance view of the whole
warehouse: admin key only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from adapters.warehouse.serving import NoSnapshot
from api.deps import ClockDep, ReaderDep, SessionDep, require_admin
from billing.control_plane.models import UNALLOCATED, CostCenter, InvoicePayment, InvoiceVoid
from billing.errors import Invalid
from billing.rules.pricing import round_money
from billing.timeutil import IsoDate, UtcDateTime, period_of

router = APIRouter(
    prefix="/cost-dashboard", tags=["cost dashboard"], dependencies=[Depends(require_admin)]
)

PeriodQuery = Annotated[
    IsoDate | None, Query(description="A billing period's first day (UTC calendar month).")
]


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


def _payment_statuses(session, invoice_ids: list[str]) -> dict[str, str]:
    """Payment status (Stripe collection, in the control plane) of the given invoices."""
    statuses: dict[str, str] = {}
    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start : start + 500]
        statuses.update(
            session.execute(
                select(InvoicePayment.invoice_id, InvoicePayment.status).where(
                    InvoicePayment.invoice_id.in_(chunk)
                )
            ).all()
        )
    return statuses


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
    """Invoices by state (count and total per currency; one series per state over periods)
    and the latest invoices. The state is the payment status of a finalized invoice once
    collection has started (`paid`, `payment_failed`, `uncollectible`, ...), otherwise its
    lifecycle status (`draft`, `finalized`, `void`, voids applied as soon as they are made).
    `status` filters on the lifecycle status."""
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
    payments = _payment_statuses(session, [r["invoice_id"] for r in rows])
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
            InvoiceStatusRow(status=s, currency=c, count=n, total=_money(total, c))
            for (s, c), (n, total) in sorted(totals.items())
        ],
        invoices=[
            InvoiceRow(
                id=r["invoice_id"],
                number=r["invoice_number"],
                status=r["status"],
                payment_status=r["payment_status"],
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


# ------------------------------------------------------------------------------ cloud cost
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


def _cost_filters(provider: str | None, service: str | None, currency: str | None):
    return (
        ("provider_name", "=", "provider", provider),
        ("service_name", "=", "service", service),
        ("currency", "=", "currency", currency),
    )


CostCenterQuery = Annotated[
    str | None,
    Query(
        description="A cost center's code (or `unallocated`): its own cost, direct and its "
        "shares of shared pools (not its descendants')."
    ),
]


def _cost_center(session, code: str | None) -> str | None:
    """The cost center filter, checked against the control plane (422 if unknown)."""
    if code is not None and code != UNALLOCATED and session.get(CostCenter, code) is None:
        raise Invalid(f"no cost center {code!r}", "cost_center")
    return code


def _days(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise Invalid("must not be before start", "end")


@router.get("/costs/daily", response_model=ChartPublic)
def cost_daily(
    reader: ReaderDep,
    session: SessionDep,
    start: Annotated[IsoDate | None, Query(description="First charge day (UTC).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last charge day (inclusive).")] = None,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
    cost_center: CostCenterQuery = None,
    group_by: Literal["provider", "service", "currency", "cost_center"] = "provider",
):
    """Cloud cost (EffectiveCost) per charge day: one series per provider, service, currency
    or cost center (each series in its currency). By cost center (``group_by=cost_center`` or
    a ``cost_center`` filter) each center has its direct cost and its shares of shared pools
    split by day; the centers of a day add up to the day's cost."""
    _days(start, end)
    by_center = group_by == "cost_center" or cost_center is not None
    where, params = _where(
        ("charge_date", ">=", "start", start),
        ("charge_date", "<=", "end", end),
        *_cost_filters(provider, service, currency),
        ("cost_center_code", "=", "cost_center", _cost_center(session, cost_center)),
    )
    group = {
        "provider": "provider_name",
        "service": "service_name",
        "currency": "currency",
        "cost_center": "cost_center_code",
    }
    column = group[group_by]
    table, amount = (
        ("fct_cloud_costs_daily_by_cost_center", "total_amount")
        if by_center
        else ("fct_cloud_costs_daily", "effective_cost")
    )
    try:
        rows, info = reader.query(
            f"select charge_date, {column} as name, currency, sum({amount}) as cost "
            f"from {{{table}}}{where} group by 1, 2, 3 order by 1, 2, 3",
            params,
        )
    except NoSnapshot:
        return ChartPublic(labels=[], series=[])
    labels = sorted({r["charge_date"].isoformat() for r in rows})
    values: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in rows:
        values[(r["name"], r["currency"])][r["charge_date"].isoformat()] = _money(
            r["cost"], r["currency"]
        )
    return ChartPublic(
        labels=labels,
        series=[
            Series(name=name, currency=cur, data=[by_day.get(d) for d in labels])
            for (name, cur), by_day in sorted(values.items())
        ],
        as_of=info.published_at,
    )


@router.get("/costs/monthly", response_model=MonthlyPublic)
def cost_monthly(
    reader: ReaderDep,
    month: Annotated[
        IsoDate | None, Query(description="The month for the rows and movers (default: latest).")
    ] = None,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
    top: Annotated[int, Query(ge=1, le=100, description="How many movers.")] = 5,
):
    """Month over month: cost per month and provider (chart), the month's services with the
    previous month's cost and the change, and the top movers by absolute change."""
    _period(month, "month")
    where, params = _where(*_cost_filters(provider, service, currency))
    try:
        rows, info = reader.query(
            "select month_start, provider_name, service_name, currency, effective_cost_amount, "
            f"previous_effective_cost_amount, change_amount from {{fct_cloud_cost_monthly}}{where} "
            "order by month_start, provider_name, service_name, currency",
            params,
        )
    except NoSnapshot:
        return MonthlyPublic(labels=[], series=[], month_start=month, rows=[], movers=[])
    labels = sorted({r["month_start"].isoformat() for r in rows})
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        key = (r["provider_name"], r["currency"])
        totals[key][r["month_start"].isoformat()] += Decimal(r["effective_cost_amount"])
    chosen = month or (max(r["month_start"] for r in rows) if rows else None)
    of_month = [r for r in rows if r["month_start"] == chosen]

    def cost_row(r) -> CostRow:
        cur = r["currency"]
        return CostRow(
            provider=r["provider_name"],
            service=r["service_name"],
            currency=cur,
            cost=_money(r["effective_cost_amount"], cur),
            previous_cost=_money(r["previous_effective_cost_amount"], cur),
            change=_money(r["change_amount"], cur),
        )

    movers = sorted(
        of_month,
        key=lambda r: (-abs(Decimal(r["change_amount"])), r["provider_name"], r["service_name"]),
    )[:top]
    return MonthlyPublic(
        labels=labels,
        series=[
            Series(
                name=name,
                currency=cur,
                data=[_money(by_month[m], cur) if m in by_month else None for m in labels],
            )
            for (name, cur), by_month in sorted(totals.items())
        ],
        month_start=chosen,
        rows=[cost_row(r) for r in of_month],
        movers=[cost_row(r) for r in movers],
        as_of=info.published_at,
    )


def _forecast_row(r: dict, provider: str, service: str) -> ForecastRow:
    cur = r["currency"]
    return ForecastRow(
        provider=provider,
        service=service,
        currency=cur,
        month_start=r["month_start"],
        as_of=r["as_of_date"],
        days_elapsed=r["days_elapsed"],
        days_remaining=r["days_remaining"],
        month_to_date=_money(r["month_to_date_amount"], cur),
        run_rate=_money(r["run_rate_amount"], cur),
        forecast=_money(r["forecast_amount"], cur),
    )


@router.get("/costs/forecast", response_model=ForecastPublic)
def cost_forecast(
    reader: ReaderDep,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
):
    """Month to date and the month-end forecast (MTD + median daily cost of the last 7 days
    x days left), per provider and service and in total per currency."""
    where, params = _where(*_cost_filters(provider, service, currency))
    try:
        rows, info = reader.query(
            "select provider_name, service_name, currency, month_start, as_of_date, "
            "days_elapsed, days_remaining, month_to_date_amount, run_rate_amount, "
            f"forecast_amount from {{fct_cloud_cost_forecast}}{where} "
            "order by currency, provider_name, service_name",
            params,
        )
    except NoSnapshot:
        return ForecastPublic(totals=[], rows=[])
    sums: dict[str, dict] = {}
    for r in rows:
        total = sums.setdefault(
            r["currency"],
            {
                **r,
                "month_to_date_amount": Decimal(0),
                "run_rate_amount": Decimal(0),
                "forecast_amount": Decimal(0),
            },
        )
        for name in ("month_to_date_amount", "run_rate_amount", "forecast_amount"):
            total[name] += Decimal(r[name])
    return ForecastPublic(
        totals=[_forecast_row(t, provider or "all", service or "all") for t in sums.values()],
        rows=[_forecast_row(r, r["provider_name"], r["service_name"]) for r in rows],
        as_of=info.published_at,
    )


@router.get("/costs/anomalies", response_model=AnomaliesPublic)
def cost_anomalies(
    reader: ReaderDep,
    session: SessionDep,
    start: Annotated[IsoDate | None, Query(description="First charge day (UTC).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last charge day (inclusive).")] = None,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
    cost_center: CostCenterQuery = None,
):
    """Days whose cost departs from the 14-day rolling median by more than 3 x 1.4826 x MAD
    and at least 10 (chart: daily cost with the anomalies as their own series). Per provider
    and service; with ``cost_center``, per provider, service and that center (its own daily
    cost of each service, where a spike the service's total hides still shows)."""
    _days(start, end)
    where, params = _where(
        ("day", ">=", "start", start),
        ("day", "<=", "end", end),
        *_cost_filters(provider, service, currency),
        ("cost_center_code", "=", "cost_center", _cost_center(session, cost_center)),
    )
    if cost_center is None:
        table, center_column = "fct_cloud_cost_anomalies", "null as cost_center_code"
    else:
        table, center_column = "fct_cloud_cost_center_anomalies", "cost_center_code"
    try:
        rows, info = reader.query(
            f"select provider_name, service_name, {center_column}, currency, day, amount, "
            "baseline_amount, mad_amount, deviation_amount, is_anomaly "
            f"from {{{table}}}{where} order by day, provider_name, service_name, currency",
            params,
        )
    except NoSnapshot:
        return AnomaliesPublic(labels=[], series=[], anomalies=[])
    labels = sorted({r["day"].isoformat() for r in rows})
    total: dict[str, Decimal] = defaultdict(Decimal)
    flagged: dict[str, Decimal] = {}
    currencies = sorted({r["currency"] for r in rows})
    currency_shown = currencies[0] if len(currencies) == 1 else None
    for r in rows:
        if currency_shown is None and r["currency"] != currencies[0]:
            continue
        total[r["day"].isoformat()] += Decimal(r["amount"])
        if r["is_anomaly"]:
            day = r["day"].isoformat()
            flagged[day] = flagged.get(day, Decimal(0)) + Decimal(r["amount"])
    cur = currencies[0] if currencies else "USD"
    return AnomaliesPublic(
        labels=labels,
        series=[
            Series(name="cost", currency=cur, data=[_money(total[d], cur) for d in labels]),
            Series(
                name="anomalous services",
                currency=cur,
                data=[_money(flagged[d], cur) if d in flagged else None for d in labels],
            ),
        ]
        if rows
        else [],
        anomalies=[
            AnomalyRow(
                provider=r["provider_name"],
                service=r["service_name"],
                cost_center=r["cost_center_code"],
                currency=r["currency"],
                day=r["day"],
                cost=_money(r["amount"], r["currency"]),
                baseline=_money(r["baseline_amount"], r["currency"]),
                mad=_money(r["mad_amount"], r["currency"]),
                deviation=_money(r["deviation_amount"], r["currency"]),
            )
            for r in rows
            if r["is_anomaly"]
        ],
        as_of=info.published_at,
    )


@router.get("/costs/cost-centers", response_model=CostCentersPublic)
def cost_by_center(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    cost_center: str | None = None,
    currency: str | None = None,
):
    """Allocated cloud cost per cost center for a billing period (default: the latest with
    costs): direct and shared, and rolled up over the center's descendants."""
    _period(period_start, "period_start")
    where, params = _where(
        ("cost_center_code", "=", "cost_center", cost_center),
        ("currency", "=", "currency", currency),
    )
    try:
        rows, info = reader.query(
            "select billing_period_start, cost_center_code, cost_center_name, "
            "parent_cost_center_code, currency, direct_amount, shared_amount, total_amount, "
            f"rolled_up_total_amount from {{fct_cost_center_costs}}{where} "
            "order by billing_period_start, currency, cost_center_code",
            params,
        )
    except NoSnapshot:
        return CostCentersPublic(labels=[], series=[], period_start=period_start, rows=[])
    chosen = period_start or (max(r["billing_period_start"] for r in rows) if rows else None)
    rows = [r for r in rows if r["billing_period_start"] == chosen]
    labels = [
        r["cost_center_code"] + (f" ({r['currency']})" if currency is None else "") for r in rows
    ]
    return CostCentersPublic(
        labels=labels,
        series=[
            Series(name="direct", data=[_money(r["direct_amount"], r["currency"]) for r in rows]),
            Series(name="shared", data=[_money(r["shared_amount"], r["currency"]) for r in rows]),
        ],
        period_start=chosen,
        rows=[
            CostCenterRow(
                cost_center=r["cost_center_code"],
                name=r["cost_center_name"],
                parent=r["parent_cost_center_code"],
                currency=r["currency"],
                direct=_money(r["direct_amount"], r["currency"]),
                shared=_money(r["shared_amount"], r["currency"]),
                total=_money(r["total_amount"], r["currency"]),
                rolled_up_total=_money(r["rolled_up_total_amount"], r["currency"]),
            )
            for r in rows
        ],
        as_of=info.published_at,
    )


@router.get("/tenant-margin", response_model=MarginPublic)
def tenant_margin(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    tenant_id: str | None = None,
    currency: str | None = None,
):
    """Revenue vs allocated cloud cost per tenant for a billing period (default: the latest),
    gross margin and margin percentage (of revenue)."""
    where, params = _where(
        ("period_start", "=", "period_start", _period(period_start, "period_start")),
        ("tenant_id", "=", "tenant_id", tenant_id),
        ("currency", "=", "currency", currency),
    )
    try:
        rows, info = reader.query(
            "select tenant_id, period_start, currency, revenue_amount, allocated_cost_amount, "
            f"gross_margin_amount from {{fct_tenant_margin}}{where} "
            "order by period_start, tenant_id, currency",
            params,
        )
    except NoSnapshot:
        return MarginPublic(labels=[], series=[], period_start=period_start, rows=[])
    chosen = period_start or (max(r["period_start"] for r in rows) if rows else None)
    rows = [r for r in rows if r["period_start"] == chosen]

    def percentage(r) -> str | None:
        revenue_amount = Decimal(r["revenue_amount"])
        if revenue_amount == 0:
            return None
        value = Decimal(r["gross_margin_amount"]) * 100 / revenue_amount
        return str(value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))

    out = [
        MarginRow(
            tenant_id=r["tenant_id"],
            period_start=r["period_start"],
            currency=r["currency"],
            revenue=_money(r["revenue_amount"], r["currency"]),
            allocated_cost=_money(r["allocated_cost_amount"], r["currency"]),
            gross_margin=_money(r["gross_margin_amount"], r["currency"]),
            gross_margin_percentage=percentage(r),
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


def _quantity(value) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text


@router.get("/unit-costs", response_model=UnitCostsPublic)
def unit_costs(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    meter: str | None = None,
    currency: str | None = None,
):
    """Unit economics: for each cost pool split by a meter's usage, allocated cost ÷ the
    meter's quantity in the period = cost per unit (6 decimals, half-up)."""
    where, params = _where(
        ("period_start", "=", "period_start", _period(period_start, "period_start")),
        ("meter_key", "=", "meter", meter),
        ("currency", "=", "currency", currency),
    )
    try:
        rows, info = reader.query(
            "select period_start, currency, meter_key, unit, rule_name, allocated_cost_amount, "
            f"quantity, tenant_count from {{fct_meter_unit_costs}}{where} "
            "order by period_start, meter_key, currency, rule_name",
            params,
        )
    except NoSnapshot:
        return UnitCostsPublic(labels=[], series=[], period_start=period_start, rows=[])
    chosen = period_start or (max(r["period_start"] for r in rows) if rows else None)
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
                allocated_cost=_money(cost, r["currency"]),
                quantity=_quantity(quantity),
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
