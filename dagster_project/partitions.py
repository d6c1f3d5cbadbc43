"""Billing periods as Dagster partitions: UTC calendar months, the current one included."""

from __future__ import annotations

from datetime import date

import dagster as dg

from billing.rules.events import EARLIEST_EVENT_TIME

FIRST_PERIOD = EARLIEST_EVENT_TIME.strftime("%Y-%m-%d")

billing_periods = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_PERIOD, timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
)


def period_key(period: date) -> str:
    return period.strftime("%Y-%m-%d")


def periods_in_window(window: dg.TimeWindow) -> list[date]:
    """Billing periods (first days) inside a partition time window."""
    out = []
    current = date(window.start.year, window.start.month, 1)
    end = window.end.date()
    while current < end:
        out.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return out
