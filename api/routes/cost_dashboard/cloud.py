"""Cost dashboard, cloud cost views: daily, month over month, forecast, anomalies and per
cost center."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import ReaderDep, SessionDep
from api.routes.cost_dashboard.shared import (
    CostCenterQuery,
    PeriodQuery,
    check_days,
    cost_filters,
    latest,
    money_chart,
)
from api.schemas import cost_dashboard as schemas
from api.serving import read_mart, row_of
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.services.cost_centers import check_center_filter
from billing.timeutil import IsoDate

router = APIRouter()


@dataclass(frozen=True)
class CloudCostFilters:
    """The days, provider, service, currency and cost center a cloud cost view is filtered by."""

    start: date | None
    end: date | None
    provider: str | None
    service: str | None
    currency: str | None
    cost_center: str | None


def cloud_cost_filters(
    start: Annotated[IsoDate | None, Query(description="First charge day (UTC).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last charge day (inclusive).")] = None,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
    cost_center: CostCenterQuery = None,
) -> CloudCostFilters:
    return CloudCostFilters(start, end, provider, service, currency, cost_center)


CloudCostFiltersDep = Annotated[CloudCostFilters, Depends(cloud_cost_filters)]

GroupBy = Literal["provider", "service", "currency", "cost_center"]


def daily_group_by(group_by: GroupBy = "provider") -> GroupBy:
    """The daily view's ``group_by`` query, a dependency of its own so that it follows the
    filters in the route's parameters."""
    return group_by


@router.get("/costs/daily", response_model=schemas.ChartPublic)
def cost_daily(
    reader: ReaderDep,
    session: SessionDep,
    filters: CloudCostFiltersDep,
    group_by: Annotated[GroupBy, Depends(daily_group_by)],
):
    """Cloud cost (EffectiveCost) per charge day: one series per provider, service, currency
    or cost center (each series in its currency). By cost center (``group_by=cost_center`` or
    a ``cost_center`` filter) each center has its direct cost and its shares of shared pools
    split by day; the centers of a day add up to the day's cost."""
    check_days(filters.start, filters.end)
    by_center = group_by == "cost_center" or filters.cost_center is not None
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
    served = read_mart(
        reader,
        f"select charge_date, {column} as name, currency, sum({amount}) as cost "
        f"from {{{table}}}{{where}} group by 1, 2, 3 order by 1, 2, 3",
        ("charge_date", ">=", "start", filters.start),
        ("charge_date", "<=", "end", filters.end),
        **cost_filters(filters.provider, filters.service, filters.currency),
        cost_center_code=check_center_filter(session, filters.cost_center),
    )
    if served is None:
        return schemas.ChartPublic(labels=[], series=[])
    rows, info = served
    labels, series = money_chart(rows, "charge_date", "name", "cost")
    return schemas.ChartPublic(
        labels=labels,
        series=series,
        as_of=info.published_at,
    )


@router.get("/costs/monthly", response_model=schemas.MonthlyPublic)
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
    check_period_start(month, "month")
    served = read_mart(
        reader,
        "select month_start, provider_name, service_name, currency, effective_cost_amount, "
        "previous_effective_cost_amount, change_amount from {fct_cloud_cost_monthly}{where} "
        "order by month_start, provider_name, service_name, currency",
        **cost_filters(provider, service, currency),
    )
    if served is None:
        return schemas.MonthlyPublic(labels=[], series=[], month_start=month, rows=[], movers=[])
    rows, info = served
    labels = sorted({r["month_start"].isoformat() for r in rows})
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        key = (r["provider_name"], r["currency"])
        totals[key][r["month_start"].isoformat()] += Decimal(r["effective_cost_amount"])
    chosen = latest(rows, "month_start", month)
    of_month = [r for r in rows if r["month_start"] == chosen]

    def cost_row(r) -> schemas.CostRow:
        return row_of(
            schemas.CostRow,
            r,
            *("cost", "previous_cost", "change"),
            cost="effective_cost_amount",
            previous_cost="previous_effective_cost_amount",
            provider="provider_name",
            service="service_name",
        )

    movers = sorted(
        of_month,
        key=lambda r: (-abs(Decimal(r["change_amount"])), r["provider_name"], r["service_name"]),
    )[:top]
    return schemas.MonthlyPublic(
        labels=labels,
        series=[
            schemas.Series(
                name=name,
                currency=cur,
                data=[money_text(by_month[m], cur) if m in by_month else None for m in labels],
            )
            for (name, cur), by_month in sorted(totals.items())
        ],
        month_start=chosen,
        rows=[cost_row(r) for r in of_month],
        movers=[cost_row(r) for r in movers],
        as_of=info.published_at,
    )


def _forecast_row(r: dict, provider: str, service: str) -> schemas.ForecastRow:
    return row_of(
        schemas.ForecastRow,
        {**r, "provider": provider, "service": service},
        *("month_to_date", "run_rate", "forecast"),
        as_of="as_of_date",
    )


@router.get("/costs/forecast", response_model=schemas.ForecastPublic)
def cost_forecast(
    reader: ReaderDep,
    provider: str | None = None,
    service: str | None = None,
    currency: str | None = None,
):
    """Month to date and the month-end forecast (MTD + median daily cost of the last 7 days
    x days left), per provider and service and in total per currency."""
    served = read_mart(
        reader,
        "select provider_name, service_name, currency, month_start, as_of_date, days_elapsed, "
        "days_remaining, month_to_date_amount, run_rate_amount, forecast_amount "
        "from {fct_cloud_cost_forecast}{where} order by currency, provider_name, service_name",
        **cost_filters(provider, service, currency),
    )
    if served is None:
        return schemas.ForecastPublic(totals=[], rows=[])
    rows, info = served
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
    return schemas.ForecastPublic(
        totals=[_forecast_row(t, provider or "all", service or "all") for t in sums.values()],
        rows=[_forecast_row(r, r["provider_name"], r["service_name"]) for r in rows],
        as_of=info.published_at,
    )


@router.get("/costs/anomalies", response_model=schemas.AnomaliesPublic)
def cost_anomalies(reader: ReaderDep, session: SessionDep, filters: CloudCostFiltersDep):
    """Days whose cost departs from the 14-day rolling median by more than 3 x 1.4826 x MAD
    and at least 10 (chart: daily cost with the anomalies as their own series). Per provider
    and service; with ``cost_center``, per provider, service and that center (its own daily
    cost of each service, where a spike the service's total hides still shows)."""
    check_days(filters.start, filters.end)
    center = check_center_filter(session, filters.cost_center)
    if filters.cost_center is None:
        table, center_column = "fct_cloud_cost_anomalies", "null as cost_center_code"
    else:
        table, center_column = "fct_cloud_cost_center_anomalies", "cost_center_code"
    served = read_mart(
        reader,
        f"select provider_name, service_name, {center_column}, currency, day, amount, "
        "baseline_amount, mad_amount, deviation_amount, is_anomaly "
        f"from {{{table}}}{{where}} order by day, provider_name, service_name, currency",
        ("day", ">=", "start", filters.start),
        ("day", "<=", "end", filters.end),
        **cost_filters(filters.provider, filters.service, filters.currency),
        cost_center_code=center,
    )
    if served is None:
        return schemas.AnomaliesPublic(labels=[], series=[], anomalies=[])
    rows, info = served
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
    return schemas.AnomaliesPublic(
        labels=labels,
        series=[
            schemas.Series(
                name="cost", currency=cur, data=[money_text(total[d], cur) for d in labels]
            ),
            schemas.Series(
                name="anomalous services",
                currency=cur,
                data=[money_text(flagged[d], cur) if d in flagged else None for d in labels],
            ),
        ]
        if rows
        else [],
        anomalies=[
            row_of(
                schemas.AnomalyRow,
                r,
                *("cost", "baseline", "mad", "deviation"),
                cost="amount",
                provider="provider_name",
                service="service_name",
                cost_center="cost_center_code",
            )
            for r in rows
            if r["is_anomaly"]
        ],
        as_of=info.published_at,
    )


@router.get("/costs/cost-centers", response_model=schemas.CostCentersPublic)
def cost_by_center(
    reader: ReaderDep,
    period_start: PeriodQuery = None,
    cost_center: str | None = None,
    currency: str | None = None,
):
    """Allocated cloud cost per cost center for a billing period (default: the latest with
    costs): direct and shared, and rolled up over the center's descendants."""
    check_period_start(period_start, "period_start")
    served = read_mart(
        reader,
        "select billing_period_start, cost_center_code, cost_center_name, "
        "parent_cost_center_code, currency, direct_amount, shared_amount, total_amount, "
        "rolled_up_total_amount from {fct_cost_center_costs}{where} "
        "order by billing_period_start, currency, cost_center_code",
        cost_center_code=cost_center,
        currency=currency,
    )
    if served is None:
        return schemas.CostCentersPublic(labels=[], series=[], period_start=period_start, rows=[])
    rows, info = served
    chosen = latest(rows, "billing_period_start", period_start)
    rows = [r for r in rows if r["billing_period_start"] == chosen]
    labels = [
        r["cost_center_code"] + (f" ({r['currency']})" if currency is None else "") for r in rows
    ]
    return schemas.CostCentersPublic(
        labels=labels,
        series=[
            schemas.Series(
                name="direct", data=[money_text(r["direct_amount"], r["currency"]) for r in rows]
            ),
            schemas.Series(
                name="shared", data=[money_text(r["shared_amount"], r["currency"]) for r in rows]
            ),
        ],
        period_start=chosen,
        rows=[
            row_of(
                schemas.CostCenterRow,
                r,
                *("direct", "shared", "total", "rolled_up_total"),
                cost_center="cost_center_code",
                name="cost_center_name",
                parent="parent_cost_center_code",
            )
            for r in rows
        ],
        as_of=info.published_at,
    )
