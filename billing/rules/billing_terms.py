"""Billing terms: where each subscription's billing periods start and end.

A subscription's terms are an interval (``week``, ``month``, ``quarter``, ``half_year``,
``year``) times a count (every 2 weeks, every 3 months), an anchor and the tenant's IANA time
zone (default UTC):

- ``calendar``: periods start on Monday, the 1st, the first day of a quarter (January, April,
  July, October), of a half-year (January, July) or on 1 January. The grid starts at the calendar
  period that holds the subscription's start, so a subscription that starts mid-period has a
  shorter first period (``first_period``), and a count steps on from there (every 2 months from
  the month it started).
- ``anniversary``: periods start on the anchor date itself (the subscription's start date, or
  the day its trial ends: ``anniversary_anchor``) and every interval after it. Month ends clamp
  and return: the nth start is always computed from the anchor, never from the previous clamped
  date (31 January -> 29 February 2024 -> 31 March -> 30 April -> 31 May).

Periods are numbered from 0 (the one that starts on or holds the anchor date). Their boundaries
are local dates; as instants they are the local midnights of those dates in the time zone,
converted to UTC: a Tokyo tenant's month starts at 15:00 UTC on the last day of the previous
month, a New York period that crosses a daylight-saving change is an hour shorter or longer.
Every period is ``[start, end)`` and the next one starts where it ends, so no instant falls into
two periods or between two. A local midnight that does not exist (clocks skip 00:00 -> 01:00)
is the instant the clocks skip, and one that occurs twice (clocks go back 01:00 -> 00:00) is
its second occurrence: the later of the two readings, as PostgreSQL and DuckDB read it (the dbt
macro ``billing_period_bounds`` computes the same boundaries in SQL).

These rules are not yet applied to invoices: subscriptions still bill on UTC calendar months
(``billing.rules.periods``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class Interval(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


class Anchor(StrEnum):
    CALENDAR = "calendar"
    ANNIVERSARY = "anniversary"


# Months in one interval (a week is 7 days instead).
MONTHS_PER_INTERVAL = {
    Interval.MONTH: 1,
    Interval.QUARTER: 3,
    Interval.HALF_YEAR: 6,
    Interval.YEAR: 12,
}
# No period longer than five years: a larger count is a typo, not a billing term.
MAX_PERIOD_MONTHS = 60
MAX_PERIOD_WEEKS = 260
# Anchor dates this far apart leave room for any number of periods a subscription can have.
MIN_ANCHOR_DATE = date(1900, 1, 1)
MAX_ANCHOR_DATE = date(2999, 12, 31)


class BillingTermsError(ValueError):
    """Invalid billing terms; ``field`` names the culprit (``time_zone``, ``interval_count``)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@lru_cache(maxsize=512)
def billing_zone(name: str, field_name: str = "time_zone") -> ZoneInfo:
    """The IANA time zone ``name`` (``Asia/Tokyo``); BillingTermsError if there is none."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise BillingTermsError(field_name, "must be an IANA time zone name such as Asia/Tokyo")
    unknown = BillingTermsError(
        field_name, f"unknown time zone {name!r}: must be an IANA name such as Asia/Tokyo"
    )
    if name not in _known_zones():
        raise unknown
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise unknown from None


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # The names of the time-zone database (not any file under its directory: "posixrules").
    return frozenset(available_timezones() | {"UTC"})


def parse_anchor_date(value: date | str, field_name: str = "anchor_date") -> date:
    """An anchor date from a ``date`` or ISO text (``2024-01-31``); BillingTermsError for a date
    that does not exist (``2025-02-29``) or lies outside 1900-2999."""
    if isinstance(value, datetime):
        raise BillingTermsError(field_name, "must be a date, not a date-time")
    if isinstance(value, str):
        try:
            year, month, day = (int(part) for part in value.split("-"))
        except ValueError:
            raise BillingTermsError(field_name, "must be a date written YYYY-MM-DD") from None
        try:
            value = date(year, month, day)
        except ValueError:
            raise BillingTermsError(field_name, f"{value} does not exist") from None
    if not isinstance(value, date):
        raise BillingTermsError(field_name, "must be a date written YYYY-MM-DD")
    if not MIN_ANCHOR_DATE <= value <= MAX_ANCHOR_DATE:
        raise BillingTermsError(field_name, "must be between 1900-01-01 and 2999-12-31")
    return value


def anniversary_anchor(starts_on: date, trial_ends_on: date | None = None) -> date:
    """The anchor of an anniversary subscription: the day its trial ends, or its start date."""
    if trial_ends_on is not None and trial_ends_on < starts_on:
        raise BillingTermsError("trial_ends_on", "must not be before the subscription starts")
    return trial_ends_on if trial_ends_on is not None else starts_on


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` months, its day clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (aware, UTC) the local day ``day`` starts in ``zone``.

    A skipped midnight (clocks jump 00:00 -> 01:00) is the instant of the jump; a repeated one
    (clocks go back 01:00 -> 00:00) its second occurrence. Both are the later of the two
    readings of the wall time, as PostgreSQL's and DuckDB's ``AT TIME ZONE`` read it."""
    wall = datetime(day.year, day.month, day.day)
    return max(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def as_utc(moment: datetime) -> datetime:
    """An instant as aware UTC; a naive value is UTC (the warehouse's convention)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """Period ``index`` of some terms: local dates (``end_date`` exclusive) and the UTC
    instants they start at (``end`` exclusive; aware datetimes)."""

    index: int
    start_date: date
    end_date: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def contains(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end


@dataclass(frozen=True, slots=True)
class FirstPeriod:
    """The first period of a subscription and the share of it the subscription is billed for:
    ``(period end - start) / (period end - period start)``, exact, in days or in seconds."""

    period: BillingPeriod
    starts_at: datetime
    fraction: Fraction


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """A subscription's billing terms; validated on construction (BillingTermsError).

    ``anchor_date`` is a local date in ``time_zone``: the subscription's start date (calendar
    and anniversary anchors) or the day its trial ends (anniversary). ``interval`` and
    ``anchor`` also accept their text values, ``anchor_date`` ISO text."""

    interval: Interval
    anchor_date: date
    interval_count: int = 1
    anchor: Anchor = Anchor.CALENDAR
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            interval = Interval(self.interval)
        except ValueError:
            raise BillingTermsError(
                "interval", f"must be one of {', '.join(i.value for i in Interval)}"
            ) from None
        try:
            anchor = Anchor(self.anchor)
        except ValueError:
            raise BillingTermsError(
                "anchor", f"must be one of {', '.join(a.value for a in Anchor)}"
            ) from None
        count = self.interval_count
        if isinstance(count, bool) or not isinstance(count, int):
            raise BillingTermsError("interval_count", "must be a whole number")
        if count < 1:
            raise BillingTermsError("interval_count", "must be at least 1")
        if interval is Interval.WEEK:
            if count > MAX_PERIOD_WEEKS:
                raise BillingTermsError(
                    "interval_count", f"must be at most {MAX_PERIOD_WEEKS} weeks (five years)"
                )
        elif count * MONTHS_PER_INTERVAL[interval] > MAX_PERIOD_MONTHS:
            raise BillingTermsError(
                "interval_count",
                f"must be at most {MAX_PERIOD_MONTHS // MONTHS_PER_INTERVAL[interval]} "
                f"for {interval.value} (five years)",
            )
        billing_zone(self.time_zone)
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "anchor", anchor)
        object.__setattr__(self, "anchor_date", parse_anchor_date(self.anchor_date))

    @property
    def zone(self) -> ZoneInfo:
        return billing_zone(self.time_zone)

    @property
    def origin(self) -> date:
        """The local date period 0 starts on: the anchor date (anniversary) or the start of the
        calendar period that holds it (calendar)."""
        day = self.anchor_date
        if self.anchor is Anchor.ANNIVERSARY:
            return day
        if self.interval is Interval.WEEK:
            return day - timedelta(days=day.weekday())  # Monday
        months = MONTHS_PER_INTERVAL[self.interval]
        return date(day.year, day.month - (day.month - 1) % months, 1)

    def start_date(self, index: int) -> date:
        """The local date period ``index`` starts on (computed from the origin)."""
        if self.interval is Interval.WEEK:
            return self.origin + timedelta(weeks=index * self.interval_count)
        return add_months(
            self.origin, index * self.interval_count * MONTHS_PER_INTERVAL[self.interval]
        )

    def period(self, index: int) -> BillingPeriod:
        """Period ``index`` (0 starts on the origin; negative ones lie before it)."""
        start_date, end_date = self.start_date(index), self.start_date(index + 1)
        return BillingPeriod(
            index,
            start_date,
            end_date,
            local_midnight(start_date, self.zone),
            local_midnight(end_date, self.zone),
        )

    def index_on(self, day: date) -> int:
        """The index of the period that holds the local date ``day``."""
        origin = self.origin
        if self.interval is Interval.WEEK:
            return (day - origin).days // (7 * self.interval_count)
        step = self.interval_count * MONTHS_PER_INTERVAL[self.interval]
        index = ((day.year - origin.year) * 12 + day.month - origin.month) // step
        while self.start_date(index) > day:
            index -= 1
        while self.start_date(index + 1) <= day:
            index += 1
        return index

    def period_at(self, moment: datetime) -> BillingPeriod:
        """The period that holds the instant ``moment`` (naive is UTC)."""
        moment = as_utc(moment)
        period = self.period(self.index_on(moment.astimezone(self.zone).date()))
        # A repeated local midnight belongs to the day before until its second occurrence.
        while moment < period.start:
            period = self.period(period.index - 1)
        while moment >= period.end:
            period = self.period(period.index + 1)
        return period

    def periods_between(self, start: datetime, end: datetime) -> list[BillingPeriod]:
        """The periods that overlap the instants ``[start, end)``, in order (none if empty)."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            return []
        periods = [self.period_at(start)]
        while periods[-1].end < end:
            periods.append(self.period(periods[-1].index + 1))
        return periods

    def first_period(
        self, starts_at: datetime | None = None, by: Literal["days", "seconds"] = "days"
    ) -> FirstPeriod:
        """The period the subscription starts in and its billed fraction.

        ``starts_at`` (naive is UTC) defaults to the local midnight of ``anchor_date``. By days
        the fraction counts local days from the start's local date (the start day counts as
        billed, as ``billing.rules.proration`` does); by seconds it counts elapsed seconds, so a
        daylight-saving month is 743 or 745 hours long. An anniversary subscription's first
        period starts on its anchor: fraction 1 when it starts at that midnight."""
        if by not in ("days", "seconds"):
            raise BillingTermsError("by", "must be days or seconds")
        starts_at = (
            local_midnight(self.anchor_date, self.zone) if starts_at is None else as_utc(starts_at)
        )
        period = self.period_at(starts_at)
        if by == "days":
            day = starts_at.astimezone(self.zone).date()
            day = min(max(day, period.start_date), period.end_date)
            fraction = Fraction((period.end_date - day).days, period.days)
        else:
            tick = timedelta(microseconds=1)
            fraction = Fraction(
                (period.end - starts_at) // tick, (period.end - period.start) // tick
            )
        return FirstPeriod(period, starts_at, fraction)
