"""Time conventions of the control plane: naive UTC datetimes, calendar-month periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ingestion.periods import next_period, period_start


def to_utc(moment: datetime | None, default: datetime) -> datetime:
    """An API datetime as naive UTC (naive input is taken as UTC)."""
    if moment is None:
        return default
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def period_of(moment: datetime) -> tuple[date, date]:
    """The billing period [start, end) containing ``moment``."""
    start = period_start(moment)
    return start, next_period(start)


def as_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
