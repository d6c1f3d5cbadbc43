"""The cost dashboard's router and what its views share: the period query, series, filters."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import require_admin
from api.schemas.cost_dashboard import Series
from billing.errors import Invalid
from billing.timeutil import IsoDate

router = APIRouter(
    prefix="/cost-dashboard", tags=["cost dashboard"], dependencies=[Depends(require_admin)]
)

PeriodQuery = Annotated[
    IsoDate | None, Query(description="A billing period's first day (UTC calendar month).")
]

CostCenterQuery = Annotated[
    str | None,
    Query(
        description="A cost center's code (or `unallocated`): its own cost, direct and its "
        "shares of shared pools (not its descendants')."
    ),
]


def series_of(values: dict[tuple[str, str], dict[str, str]], labels: list[str]) -> list[Series]:
    """One series per (name, currency), sorted, with a value (or None) per label."""
    return [
        Series(name=name, currency=cur, data=[by_label.get(label) for label in labels])
        for (name, cur), by_label in sorted(values.items())
    ]


def latest(rows: list[dict], column: str, chosen: date | None) -> date | None:
    """The period asked for, or else the latest one in the rows (None without rows)."""
    return chosen or (max(r[column] for r in rows) if rows else None)


def cost_filters(provider: str | None, service: str | None, currency: str | None) -> dict:
    return {"provider_name": provider, "service_name": service, "currency": currency}


def check_days(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise Invalid("must not be before start", "end")
