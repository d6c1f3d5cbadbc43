"""Billing periods: calendar months in UTC, start inclusive, end exclusive."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from billing.errors import Invalid
from billing.ports import WarehouseConnection


def period_start(moment: date | datetime) -> date:
    return date(moment.year, moment.month, 1)


def check_period_start(value: date | None, field: str = "period_start") -> date | None:
    """A period given as its start must be the first day of a billing period (a UTC calendar
    month); None passes (no filter). A 422 naming ``field`` otherwise."""
    if value is not None and value.day != 1:
        raise Invalid("must be the first day of a billing period", field)
    return value


def next_period(start: date) -> date:
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def period_end(start: date) -> date:
    return next_period(start)


def closes_at(start: date, grace_hours: int) -> datetime:
    """When a period closes: its end plus the grace period (naive UTC)."""
    end = period_end(start)
    return datetime(end.year, end.month, end.day) + timedelta(hours=grace_hours)


def periods_between(first: date, last: date) -> list[date]:
    """Period starts from ``first`` to ``last`` inclusive."""
    out, current = [], period_start(first)
    while current <= last:
        out.append(current)
        current = next_period(current)
    return out


def close_due_periods(
    con: WarehouseConnection, now: datetime, grace_hours: int, closed_by: str = "pipeline"
) -> list[date]:
    """Record every period whose grace has elapsed as closed; return the newly closed ones.

    Periods from the earliest period with landed usage up to the last due one are closed, so a
    period without usage is closed too. Events landing later for a closed period are flagged late.
    """
    with con.transaction():
        if con.kind == "postgres":
            con.execute("lock table raw.closed_billing_periods in exclusive mode")
        row = con.fetchone("select min(period_start) from raw.usage_period_watermarks")
        if not row or row[0] is None:
            return []
        earliest = row[0]
        last_due = period_start(now)
        while closes_at(last_due, grace_hours) > now:
            last_due = period_start(last_due - timedelta(days=1))
            if last_due < earliest:
                return []
        already = {
            r[0] for r in con.fetchall("select period_start from raw.closed_billing_periods")
        }
        newly = [p for p in periods_between(earliest, last_due) if p not in already]
        for p in newly:
            con.execute(
                "insert into raw.closed_billing_periods (period_start, closed_at, closed_by) "
                "values (:p, :now, :by)",
                {"p": p, "now": now, "by": closed_by},
            )
        return newly
