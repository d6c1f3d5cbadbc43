"""Time conventions of the control plane: naive UTC datetimes inside, calendar-month periods,
and every datetime the API writes carries its offset (RFC 3339 ``date-time``: ``...Z``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from billing.rules.periods import next_period, period_start


def as_aware_utc(moment: datetime) -> datetime:
    """A datetime as timezone-aware UTC (naive values are UTC by the warehouse's convention)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """RFC 3339 text with the ``Z`` offset, e.g. ``2026-12-06T13:10:12.423705Z``."""
    return as_aware_utc(moment).isoformat().replace("+00:00", "Z")


_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*")


def _date_text(value: Any) -> Any:
    # pydantic would also read a number as a Unix time (``0`` -> 1970-01-01): not a date.
    if isinstance(value, date) or (isinstance(value, str) and _DATE_TEXT.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATETIME_TEXT.fullmatch(value)):
        return value
    raise ValueError("must be a date-time written YYYY-MM-DDTHH:MM:SSZ (no offset: UTC)")


# A date the API reads (query parameters, bodies): ISO text only.
IsoDate = Annotated[date, BeforeValidator(_date_text)]

# Every datetime field of a schema: read as ISO text (naive input is UTC, see ``to_utc``),
# written with its offset. The OpenAPI document keeps ``format: date-time``.
UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_datetime_text),
    PlainSerializer(as_aware_utc, return_type=datetime),
]


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
