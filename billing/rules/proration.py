"""Proration of a period's base fee when a subscription changes plan mid-period: each line
rounded on its own to the currency's minor unit."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import (
    Decimal,
    localcontext,
)
from fractions import Fraction

from billing.rules.pricing import EXACT, PricingError, minor_units, round_money


def prorate(
    amount: Decimal, change_day: date, period_start: date, period_end: date, currency: str
) -> Decimal:
    """The share of ``amount`` for the rest of the period from ``change_day`` on, rounded
    half-up to the minor unit: amount x (period_end - change_day) / (period_end - period_start)
    in days. ``period_end`` is exclusive (2026-02-01 -> 2026-03-01 has 28 days); the change day
    counts as remaining, so a change on the first day gives the full amount and one on the last
    day 1/N of it. Computed exactly (as a fraction) before the single rounding."""
    _check_period(change_day, period_start, period_end)
    remaining = (period_end - change_day).days
    return _share(amount, remaining, (period_end - period_start).days, currency)


def prorate_at(
    amount: Decimal,
    at: datetime,
    period_start: date,
    period_end: date,
    currency: str,
    unit: str = "day",
) -> Decimal:
    """The share of ``amount`` for the rest of the period from the instant ``at`` (naive UTC)
    on, measured in the plan's proration ``unit``: ``day`` is :func:`prorate` of ``at``'s
    date; ``second`` is amount x (period_end - at) / (period_end - period_start) in whole
    seconds, ``at`` truncated to its second (which counts as remaining)."""
    remaining, whole = remaining_share(at, period_start, period_end, unit)
    return _share(amount, remaining, whole, currency)


def remaining_share(
    at: datetime, period_start: date, period_end: date, unit: str = "day"
) -> tuple[int, int]:
    """(the rest of the period from ``at`` on, the whole period) in days or whole seconds."""
    if not isinstance(at, datetime):
        raise PricingError("at", "must be a datetime")
    _check_period(at.date(), period_start, period_end)
    if unit == "day":
        return (period_end - at.date()).days, (period_end - period_start).days
    if unit != "second":
        raise PricingError("unit", "must be day or second")
    end = datetime.combine(period_end, datetime.min.time())
    start = datetime.combine(period_start, datetime.min.time())
    remaining = end - at.replace(microsecond=0, tzinfo=None)
    return int(remaining.total_seconds()), int((end - start).total_seconds())


def share_text(at: datetime, period_start: date, period_end: date, unit: str = "day") -> str:
    """The prorated share as invoice lines describe it: ``15/30 days``, ``1263600/2592000 s``."""
    remaining, whole = remaining_share(at, period_start, period_end, unit)
    return f"{remaining}/{whole} {'days' if unit == 'day' else 's'}"


def _share(amount: Decimal, remaining: int, whole: int, currency: str) -> Decimal:
    """amount x remaining / whole, exactly, then rounded half away from zero to the minor unit."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise PricingError("amount", "must be a finite Decimal")
    places = minor_units(currency)
    exact = Fraction(amount) * remaining / whole
    scaled = exact * 10**places
    units = math.floor(abs(scaled) + Fraction(1, 2))  # half away from zero
    with localcontext(EXACT):
        rounded = Decimal(-units if scaled < 0 else units).scaleb(-places)
    return round_money(rounded, currency)


def proration_lines(
    old_amount: Decimal,
    new_amount: Decimal,
    change_day: date,
    period_start: date,
    period_end: date,
    currency: str,
) -> tuple[Decimal, Decimal]:
    """A mid-period price change as two lines, each rounded on its own: the credit for the
    unused rest of the old price (<= 0) and the charge for the rest of the period at the new
    price (>= 0). Both amounts are per-period amounts and must not be negative."""
    for name, value in (("old_amount", old_amount), ("new_amount", new_amount)):
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise PricingError(name, "must be a non-negative finite Decimal")
    credit = prorate(old_amount, change_day, period_start, period_end, currency)
    charge = prorate(new_amount, change_day, period_start, period_end, currency)
    return (-credit if credit else credit, charge)


def _check_period(change_day: date, period_start: date, period_end: date) -> None:
    for name, value in (
        ("change_day", change_day),
        ("period_start", period_start),
        ("period_end", period_end),
    ):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise PricingError(name, "must be a date")
    if period_end <= period_start:
        raise PricingError("period_end", "must be after period_start")
    if not period_start <= change_day < period_end:
        raise PricingError(
            "change_day",
            f"must be in the period [{period_start.isoformat()}, {period_end.isoformat()})",
        )
