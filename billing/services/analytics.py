"""Subscription analytics: MRR, ARR and their movements per tenant, currency and month, computed
by the warehouse (dbt_project/models/marts/analytics; definitions in docs/analytics.md) and
read here from the serving snapshot."""

from __future__ import annotations

from datetime import date

from billing.errors import Invalid
from billing.ports import MartReader
from billing.rules.periods import check_period_start
from billing.services.plans import check_currency

MRR_COLUMNS = (
    "mrr.tenant_id, mrr.currency, mrr.month_start, mrr.cohort_month_start, "
    "mrr.subscription_count, mrr.fixed_mrr_amount, mrr.usage_mrr_amount, mrr.mrr_amount, "
    "mrr.arr_amount, mrr.previous_mrr_amount, mrr.mrr_change_amount, movements.movement_type"
)


def mrr_page(
    reader: MartReader,
    tenant_id: str | None,
    currency: str | None,
    start: date | None,
    end: date | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict], object]:
    """MRR rows by month, tenant and currency, each with its movement type (None when the MRR
    did not change), months ``start`` to ``end`` inclusive: (count of all matching, the page's
    rows, snapshot info). Raises NoSnapshot, or MissingTable before the marts are published;
    Invalid (422) naming the field for a month that is not a first day, an end before the
    start or an unknown currency."""
    check_period_start(start, "start")
    check_period_start(end, "end")
    if start is not None and end is not None and end < start:
        raise Invalid("must not be before start", "end")
    if currency is not None:
        check_currency(currency)
    clauses, params = [], {}
    for clause, name, value in (
        ("mrr.tenant_id = :tenant_id", "tenant_id", tenant_id),
        ("mrr.currency = :currency", "currency", currency),
        ("mrr.month_start >= :start", "start", start),
        ("mrr.month_start <= :end", "end", end),
    ):
        if value is not None:
            clauses.append(clause)
            params[name] = value
    where = (" where " + " and ".join(clauses)) if clauses else ""
    joined = (
        "from {fct_mrr} as mrr left join {fct_mrr_movements} as movements "
        "on movements.tenant_id = mrr.tenant_id and movements.currency = mrr.currency "
        "and movements.month_start = mrr.month_start"
    )
    counted, _ = reader.query(f"select count(*) as n {joined}{where}", params)
    rows, info = reader.query(
        f"select {MRR_COLUMNS} {joined}{where} "
        f"order by mrr.month_start, mrr.tenant_id, mrr.currency limit {int(limit)} "
        f"offset {int(offset)}",
        params,
    )
    return counted[0]["n"], rows, info
