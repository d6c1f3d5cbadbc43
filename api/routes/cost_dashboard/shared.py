"""What the cost dashboard's views share: the period and cost center queries, series, filters."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated

from fastapi import Query

from api.schemas.cost_dashboard import Series
from billing.errors import Invalid
from billing.rules.pricing import money_text
from billing.timeutil import IsoDate

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


def money_chart(rows: list[dict], label: str, name: str, amount: str):
    """(labels, series) of money over days or periods: the ``label`` column's dates, one series
    per ``name`` and currency with the ``amount`` of each label, rounded in its currency."""
    labels = sorted({r[label].isoformat() for r in rows})
    values: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in rows:
        values[(r[name], r["currency"])][r[label].isoformat()] = money_text(
            r[amount], r["currency"]
        )
    return labels, series_of(values, labels)


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
