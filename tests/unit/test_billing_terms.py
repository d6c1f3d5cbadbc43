"""Billing terms (billing.rules.billing_terms): every value below is worked out by hand in the
comments, not read back from the code."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rules.billing_terms import (
    Anchor,
    BillingTerms,
    BillingTermsError,
    Interval,
    add_months,
    anniversary_anchor,
    billing_zone,
    local_midnight,
)
from billing.rules.proration import prorate

NEW_YORK = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def starts(terms: BillingTerms, count: int, first: int = 0) -> list[date]:
    return [terms.period(i).start_date for i in range(first, first + count)]


# --- intervals on the calendar ------------------------------------------------------------

# 2026-05-20 is a Wednesday: 1 January 2026 is a Thursday and 20 May is day 31+28+31+30+20 =
# 140 of the year, (140 - 1) mod 7 = 6 days after a Thursday.
MID_MAY = date(2026, 5, 20)


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        ("week", date(2026, 5, 18), date(2026, 5, 25)),  # Monday before that Wednesday
        ("month", date(2026, 5, 1), date(2026, 6, 1)),
        ("quarter", date(2026, 4, 1), date(2026, 7, 1)),  # Q2: April, May, June
        ("half_year", date(2026, 1, 1), date(2026, 7, 1)),  # H1
        ("year", date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_a_calendar_period_holds_the_start_date(interval, start, end):
    period = BillingTerms(interval, MID_MAY).period(0)
    assert (period.start_date, period.end_date) == (start, end)
    # UTC: boundaries are the midnights themselves.
    assert period.start == datetime(start.year, start.month, start.day, tzinfo=UTC)
    assert period.end == datetime(end.year, end.month, end.day, tzinfo=UTC)


def test_calendar_quarters_and_half_years_follow_on():
    # From Q2 2026: Q3 starts 1 July, Q4 1 October, then Q1 2027.
    assert starts(BillingTerms("quarter", MID_MAY), 4) == [
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
        date(2027, 1, 1),
    ]
    # A start in November: the half-year is H2, 1 July to 1 January.
    assert starts(BillingTerms("half_year", date(2026, 11, 3)), 3) == [
        date(2026, 7, 1),
        date(2027, 1, 1),
        date(2027, 7, 1),
    ]


def test_a_calendar_week_starts_on_monday():
    # 2026-03-08 is a Sunday (1 March 2026 is day 60: (60 - 1) mod 7 = 3 after a Thursday,
    # a Sunday, and 8 March a week later): its week began on Monday 2 March.
    assert BillingTerms("week", date(2026, 3, 8)).period(0).start_date == date(2026, 3, 2)
    # A start on a Monday is its own week's first day; weeks follow every 7 days.
    assert starts(BillingTerms("week", date(2026, 3, 2)), 3) == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]


# --- interval counts ---------------------------------------------------------------------


def test_every_two_weeks_on_the_calendar():
    # Monday 18 May, then 18 + 14 = 1 June, then 15 June.
    assert starts(BillingTerms("week", MID_MAY, 2), 3) == [
        date(2026, 5, 18),
        date(2026, 6, 1),
        date(2026, 6, 15),
    ]


def test_every_four_weeks_on_the_anniversary():
    # 5 January + 28 days = 2 February (5 + 28 = 33 = 31 + 2); + 28 = 2 March (February has 28).
    terms = BillingTerms("week", date(2026, 1, 5), 4, "anniversary")
    assert starts(terms, 3) == [date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]
    assert terms.period(0).days == 28


def test_every_three_months_on_the_anniversary_clamps_and_returns():
    # 30 November + 3 months = 30 February -> 28 February 2026; + 6 = 30 May; + 9 = 30 August.
    terms = BillingTerms("month", date(2025, 11, 30), 3, "anniversary")
    assert starts(terms, 4) == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
    ]


def test_every_two_months_and_two_years_on_the_calendar_step_from_the_start():
    # Every 2 months from a 10 June start: June-July, then August-September.
    assert starts(BillingTerms("month", date(2025, 6, 10), 2), 3) == [
        date(2025, 6, 1),
        date(2025, 8, 1),
        date(2025, 10, 1),
    ]
    # Every 2 years: 2025-2026, then 2027-2028.
    period = BillingTerms(Interval.YEAR, date(2025, 6, 10), 2).period(1)
    assert (period.start_date, period.end_date) == (date(2027, 1, 1), date(2029, 1, 1))
    # Every 2 quarters is a half-year's length but starts on the start's quarter (Q2).
    assert starts(BillingTerms("quarter", MID_MAY, 2), 2) == [date(2026, 4, 1), date(2026, 10, 1)]


# --- anniversaries and month ends --------------------------------------------------------


def test_a_31_january_anniversary_clamps_and_returns_through_may():
    # 2024 is a leap year: 29 February, then back to the 31st where the month has one.
    terms = BillingTerms("month", date(2024, 1, 31), anchor=Anchor.ANNIVERSARY)
    assert starts(terms, 5) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    # Period lengths: 31 Jan -> 29 Feb is 29 days, 29 Feb -> 31 Mar 31 days, 31 Mar -> 30 Apr 30.
    assert [terms.period(i).days for i in range(3)] == [29, 31, 30]
    # In a common year February ends on the 28th, and March still starts on the 31st.
    common = BillingTerms("month", date(2026, 1, 31), anchor="anniversary")
    assert starts(common, 3) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


def test_a_29_february_anniversary_in_common_years():
    yearly = BillingTerms("year", date(2024, 2, 29), anchor="anniversary")
    # 2025, 2026, 2027 have no 29 February: the 28th; 2028 is a leap year again.
    assert starts(yearly, 5) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    # Monthly from 29 February: the 29th of every month, 28 February 2025 (period 12).
    monthly = BillingTerms("month", date(2024, 2, 29), anchor="anniversary")
    assert monthly.period(1).start_date == date(2024, 3, 29)
    assert monthly.period(12).start_date == date(2025, 2, 28)
    assert monthly.period(13).start_date == date(2025, 3, 29)


def test_add_months_is_always_computed_from_the_day_given():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)  # not 29 March
    assert add_months(date(2024, 1, 31), -2) == date(2023, 11, 30)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_the_anniversary_is_the_day_the_trial_ends():
    assert anniversary_anchor(date(2026, 3, 1)) == date(2026, 3, 1)
    assert anniversary_anchor(date(2026, 3, 1), date(2026, 3, 15)) == date(2026, 3, 15)
    with pytest.raises(BillingTermsError) as error:
        anniversary_anchor(date(2026, 3, 15), date(2026, 3, 1))
    assert error.value.field == "trial_ends_on"


# --- time zones ----------------------------------------------------------------------------


def test_a_tokyo_month_starts_at_15_utc_on_the_last_day_of_the_previous_month():
    # Tokyo is UTC+9 all year: 1 February 00:00 JST = 31 January 15:00 UTC.
    terms = BillingTerms("month", date(2026, 1, 15), time_zone="Asia/Tokyo")
    january = terms.period(0)
    assert january.start == utc(2025, 12, 31, 15)
    assert january.end == utc(2026, 1, 31, 15)
    # 14:59:59 UTC on 31 January is 23:59:59 in Tokyo: still January; 15:00 is February.
    assert terms.period_at(utc(2026, 1, 31, 14, 59, 59)).index == 0
    assert terms.period_at(utc(2026, 1, 31, 15)).start_date == date(2026, 2, 1)
    # Naive datetimes are UTC.
    assert terms.period_at(datetime(2026, 1, 31, 15)).index == 1


def test_new_york_days_of_23_and_25_hours():
    zone = billing_zone(NEW_YORK)
    # DST starts Sunday 8 March 2026 at 02:00 EST -> 03:00 EDT: that day is 23 hours long.
    # 8 March 00:00 EST (UTC-5) = 05:00 UTC; 9 March 00:00 EDT (UTC-4) = 04:00 UTC.
    assert local_midnight(date(2026, 3, 8), zone) == utc(2026, 3, 8, 5)
    assert local_midnight(date(2026, 3, 9), zone) == utc(2026, 3, 9, 4)
    # DST ends Sunday 1 November 2026 at 02:00 EDT -> 01:00 EST: 25 hours.
    # 1 November 00:00 EDT = 04:00 UTC; 2 November 00:00 EST = 05:00 UTC.
    assert local_midnight(date(2026, 11, 2), zone) - local_midnight(
        date(2026, 11, 1), zone
    ) == timedelta(hours=25)


def test_new_york_periods_across_the_march_and_november_changes():
    # The calendar week of 8 March: Monday 2 March 00:00 EST = 05:00 UTC to Monday 9 March
    # 00:00 EDT = 04:00 UTC, 7 x 24 - 1 = 167 hours.
    march_week = BillingTerms("week", date(2026, 3, 8), time_zone=NEW_YORK).period(0)
    assert (march_week.start, march_week.end) == (utc(2026, 3, 2, 5), utc(2026, 3, 9, 4))
    assert march_week.seconds == 167 * 3600
    # The week of 1 November: Monday 26 October 04:00 UTC to Monday 2 November 05:00 UTC, 169 h.
    november_week = BillingTerms("week", date(2026, 11, 1), time_zone=NEW_YORK).period(0)
    assert (november_week.start, november_week.end) == (utc(2026, 10, 26, 4), utc(2026, 11, 2, 5))
    assert november_week.seconds == 169 * 3600
    # Months: March is 31 x 24 - 1 = 743 hours, November 30 x 24 + 1 = 721 hours.
    monthly = BillingTerms("month", date(2026, 3, 1), time_zone=NEW_YORK)
    assert monthly.period(0).seconds == 743 * 3600
    assert monthly.period(8).start_date == date(2026, 11, 1)
    assert monthly.period(8).seconds == 721 * 3600


def test_no_instant_between_two_periods_or_in_both():
    terms = BillingTerms("week", date(2026, 3, 8), time_zone=NEW_YORK)
    # 9 March 03:59:59 UTC is 8 March 23:59:59 EDT: the week of 2 March; 04:00 UTC is the next.
    before, after = terms.period_at(utc(2026, 3, 9, 3, 59, 59)), terms.period_at(utc(2026, 3, 9, 4))
    assert (before.index, after.index) == (0, 1)
    assert before.end == after.start
    assert before.contains(utc(2026, 3, 9, 3, 59, 59)) and not before.contains(utc(2026, 3, 9, 4))
    # Over a year of consecutive periods every end is the next start.
    periods = [terms.period(i) for i in range(53)]
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))


def test_lord_howe_shifts_by_half_an_hour():
    # Lord Howe is UTC+11 in summer and UTC+10:30 in winter; summer time ends Sunday 5 April
    # 2026 at 02:00 -> 01:30. April: 1 April 00:00 (+11) = 31 March 13:00 UTC, to 1 May 00:00
    # (+10:30) = 30 April 13:30 UTC: 30 days and 30 minutes.
    april = BillingTerms("month", date(2026, 4, 1), time_zone="Australia/Lord_Howe").period(0)
    assert (april.start, april.end) == (utc(2026, 3, 31, 13), utc(2026, 4, 30, 13, 30))
    assert april.seconds == 30 * 86400 + 1800


def test_a_midnight_that_occurs_twice_is_taken_at_its_second_occurrence():
    # Havana goes back 01:00 CDT -> 00:00 CST on 6 November 2022: midnight occurs at 04:00 UTC
    # (UTC-4) and again at 05:00 UTC (UTC-5). The day starts at the second, as in PostgreSQL.
    assert local_midnight(date(2022, 11, 6), billing_zone("America/Havana")) == utc(2022, 11, 6, 5)
    # Santiago skips 00:00 -> 01:00 on 11 September 2022: the day starts at the jump, 00:00 at
    # UTC-4 = 04:00 UTC (01:00 at UTC-3).
    assert local_midnight(date(2022, 9, 11), billing_zone("America/Santiago")) == utc(
        2022, 9, 11, 4
    )


# --- periods over a range ------------------------------------------------------------------


def test_periods_overlapping_a_range():
    terms = BillingTerms("month", date(2026, 1, 15))
    # [15 January, 2 April): January, February, March and April.
    periods = terms.periods_between(utc(2026, 1, 15), utc(2026, 4, 2))
    assert [p.start_date for p in periods] == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]
    # The end is exclusive: [1 February, 1 March) is February alone.
    only = terms.periods_between(utc(2026, 2, 1), utc(2026, 3, 1))
    assert [p.start_date for p in only] == [date(2026, 2, 1)]
    assert terms.periods_between(utc(2026, 3, 1), utc(2026, 3, 1)) == []
    # Periods before the anchor are numbered below 0.
    assert terms.period_at(utc(2025, 12, 31)).index == -1


# --- the first period ------------------------------------------------------------------------


def test_the_first_calendar_period_is_prorated_by_days():
    # A monthly subscription starting 10 April (UTC): April has 30 days, 10..30 April is 21 of
    # them (the start day counts): 21 / 30 = 7 / 10.
    first = BillingTerms("month", date(2026, 4, 10)).first_period()
    assert first.period.start_date == date(2026, 4, 1)
    assert first.fraction == Fraction(7, 10)
    # Quarterly from 20 May: Q2 is 30 + 31 + 30 = 91 days; 20..31 May is 12, June 30: 42 / 91.
    assert BillingTerms("quarter", MID_MAY).first_period().fraction == Fraction(42, 91)
    # A calendar week from Wednesday 20 May: Wednesday to Sunday, 5 of 7 days.
    assert BillingTerms("week", MID_MAY).first_period().fraction == Fraction(5, 7)
    # A subscription that starts on the 1st, or on its anniversary, pays the whole period.
    assert BillingTerms("month", date(2026, 4, 1)).first_period().fraction == 1
    anniversary = BillingTerms("month", date(2026, 4, 10), anchor="anniversary")
    assert anniversary.first_period().fraction == 1


def test_the_first_calendar_period_prorated_by_seconds():
    # Starting 10 April 12:00 UTC: 20.5 of April's 30 days remain, 41 / 60.
    terms = BillingTerms("month", date(2026, 4, 10))
    assert terms.first_period(utc(2026, 4, 10, 12), by="seconds").fraction == Fraction(41, 60)
    # By days the start day counts whole: 21 / 30.
    assert terms.first_period(utc(2026, 4, 10, 12)).fraction == Fraction(7, 10)
    # New York, from 20 March 00:00 EDT (04:00 UTC) to 1 April 04:00 UTC: 12 x 24 = 288 hours
    # of March's 743 (by days 12 / 31).
    new_york = BillingTerms("month", date(2026, 3, 20), time_zone=NEW_YORK)
    assert new_york.first_period(by="seconds").fraction == Fraction(288, 743)
    assert new_york.first_period().fraction == Fraction(12, 31)
    with pytest.raises(BillingTermsError):
        new_york.first_period(by="hours")


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "unknown time zone"),
        ({"time_zone": "America"}, "time_zone", "unknown time zone"),
        ({"time_zone": ""}, "time_zone", "IANA"),
        ({"interval_count": 0}, "interval_count", "at least 1"),
        ({"interval_count": -2}, "interval_count", "at least 1"),
        ({"interval_count": 1.5}, "interval_count", "whole number"),
        ({"interval_count": True}, "interval_count", "whole number"),
        ({"interval_count": 61}, "interval_count", "at most 60"),
        ({"interval": "quarter", "interval_count": 21}, "interval_count", "at most 20"),
        ({"interval": "week", "interval_count": 261}, "interval_count", "at most 260"),
        ({"interval": "day"}, "interval", "must be one of week, month"),
        ({"anchor": "birthday"}, "anchor", "calendar, anniversary"),
        ({"anchor_date": "2025-02-29"}, "anchor_date", "2025-02-29 does not exist"),
        ({"anchor_date": "2026-04-31"}, "anchor_date", "does not exist"),
        ({"anchor_date": "31/01/2026"}, "anchor_date", "YYYY-MM-DD"),
        ({"anchor_date": datetime(2026, 1, 1)}, "anchor_date", "not a date-time"),
        ({"anchor_date": date(1, 1, 1)}, "anchor_date", "between 1900-01-01"),
    ],
)
def test_invalid_terms_name_their_field(changes, field, message):
    fields = {"interval": "month", "anchor_date": date(2026, 1, 1), **changes}
    with pytest.raises(BillingTermsError) as error:
        BillingTerms(**fields)
    assert error.value.field == field
    assert message in error.value.message
    assert str(error.value).startswith(f"{field}: ")


def test_text_values_are_read():
    terms = BillingTerms("half_year", "2024-02-29", 1, "anniversary", "Asia/Tokyo")
    assert terms.interval is Interval.HALF_YEAR and terms.anchor is Anchor.ANNIVERSARY
    # 29 February + 6 months = 29 August.
    assert terms.period(1).start_date == date(2024, 8, 29)


def test_the_first_period_fraction_is_the_proration_rule():
    # A 30.00 USD monthly fee from 10 April: 30.00 x 21 / 30 = 21.00, the same as
    # billing.rules.proration.prorate over the same local dates.
    first = BillingTerms("month", date(2026, 4, 10)).first_period()
    fee = Decimal("30.00")
    assert fee * first.fraction.numerator / first.fraction.denominator == Decimal("21.00")
    assert prorate(
        fee, date(2026, 4, 10), first.period.start_date, first.period.end_date, "USD"
    ) == Decimal("21.00")


# --- properties over generated terms -------------------------------------------------------

terms_strategy = st.builds(
    BillingTerms,
    interval=st.sampled_from(list(Interval)),
    anchor_date=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    interval_count=st.integers(1, 4),
    anchor=st.sampled_from(list(Anchor)),
    time_zone=st.sampled_from(
        ["UTC", "Asia/Tokyo", NEW_YORK, "Australia/Lord_Howe", "America/Santiago", "Europe/London"]
    ),
)


@settings(max_examples=200, deadline=None)
@given(terms=terms_strategy, index=st.integers(-30, 120), offset=st.floats(0, 1))
def test_periods_tile_time(terms, index, offset):
    period, following = terms.period(index), terms.period(index + 1)
    # Consecutive periods touch: no gap, no overlap; each is non-empty.
    assert period.end == following.start and period.start < period.end
    # Any instant inside is found in this period, and only this one.
    inside = period.start + (period.end - period.start) * offset
    if inside == period.end:
        inside = period.end - timedelta(microseconds=1)
    assert terms.period_at(inside) == period
    assert terms.period_at(period.end - timedelta(microseconds=1)) == period
    assert terms.period_at(period.end) == following
    # Boundaries are local midnights (01:00 on a day whose midnight is skipped, Santiago).
    local = period.start.astimezone(terms.zone)
    assert local.date() == period.start_date
    assert local.time() == time(0) or (terms.time_zone, local.time()) == (
        "America/Santiago",
        time(1),
    )


@settings(max_examples=200, deadline=None)
@given(terms=terms_strategy, index=st.integers(0, 120))
def test_anniversary_month_ends_clamp_and_return(terms, index):
    start = terms.period(index).start_date
    if terms.interval is Interval.WEEK:
        assert (start - terms.origin).days == 7 * terms.interval_count * index
        return
    anchor = terms.origin
    last_day = calendar.monthrange(start.year, start.month)[1]
    # The anchor's day, or the month's last day when the month is shorter.
    assert start.day == min(anchor.day, last_day)
