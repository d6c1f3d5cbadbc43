"""Subscription analytics read from the serving snapshot (the marts of
dbt_project/models/marts/analytics): the finance view, admin key only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ReaderDep, require_admin
from api.schemas.analytics import MrrPublic, MrrsPublic
from api.serving import row_of
from billing.control_plane.commands import MAX_DB_INTEGER
from billing.ports import MissingTable, NoSnapshot
from billing.services import analytics
from billing.timeutil import IsoDate

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(require_admin)])

MonthQuery = Annotated[IsoDate | None, Query(description="A month's first day (inclusive).")]


@router.get("/mrr", response_model=MrrsPublic)
def read_mrr(
    reader: ReaderDep,
    tenant_id: str | None = None,
    currency: Annotated[str | None, Query(description="ISO 4217 code, e.g. USD.")] = None,
    start: MonthQuery = None,
    end: MonthQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """MRR and ARR per tenant, currency and month (oldest month first), each with its
    movement: new, expansion, contraction, churn or reactivation."""
    try:
        count, rows, info = analytics.mrr_page(
            reader, tenant_id, currency, start, end, limit, offset
        )
    except (NoSnapshot, MissingTable):
        return MrrsPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    data = [
        row_of(
            MrrPublic,
            r,
            "mrr",
            "fixed_mrr",
            "usage_mrr",
            "arr",
            "previous_mrr",
            "mrr_change",
            month="month_start",
            cohort_month="cohort_month_start",
            subscriptions="subscription_count",
            movement="movement_type",
        )
        for r in rows
    ]
    return MrrsPublic(data=data, count=count, limit=limit, offset=offset, as_of=info.published_at)
