"""The warehouse's billing periods (``billing_period_bounds`` in macros/billing_period_bounds.sql,
compiled by dbt) are the Python rule's (``billing.rules.billing_terms``) to the microsecond, on
DuckDB and PostgreSQL, over generated terms: every interval, counts 1-4, both anchors, 31st
and 29 February anchors, zones with a 30-minute daylight-saving shift (Lord Howe) and with
midnights that are skipped (Santiago) or repeated (Havana, by hand)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import product

import duckdb
import psycopg
import pyarrow as pa
import pytest

from billing.rules.billing_terms import Anchor, BillingTerms, Interval
from tests.conftest import PG_ADMIN_DSN
from tests.integration.test_pricing_sql import compile_macro, target_envs, throwaway_targets

CALL = (
    "select case_id, {{ billing_period_bounds('interval_name', 'interval_count', 'anchor', "
    "'anchor_date', 'time_zone', 'period_index') }}, "
    "{{ billing_period_start_date('interval_name', 'interval_count', 'anchor', 'anchor_date', "
    "'period_index') }} as period_start_date "
    "from billing_terms_cases order by case_id"
)
DDL = (
    "create table billing_terms_cases (case_id integer, interval_name varchar(16), "
    "interval_count integer, anchor varchar(16), anchor_date date, time_zone varchar(64), "
    "period_index integer)"
)
COLUMNS = (
    "case_id",
    "interval_name",
    "interval_count",
    "anchor",
    "anchor_date",
    "time_zone",
    "period_index",
)
ZONES = [
    "UTC",
    "Asia/Tokyo",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",  # midnight skipped: 2022-09-11 00:00 -> 01:00
]
# Havana's midnight is repeated (2022-11-06 01:00 -> 00:00), but DuckDB's time-zone database
# (ICU's own copy) has other rules for Cuba from November 2026 than the system's (PostgreSQL's
# and Python's): it is checked by hand below, not generated.
FIXED_ANCHORS = [
    date(2024, 1, 31),  # clamps to 29 February in a leap year
    date(2023, 1, 31),  # and to 28 February in a common one
    date(2024, 2, 29),  # 28 February in the years after
    date(2025, 8, 31),
    date(2022, 9, 11),  # Santiago's skipped midnight
    date(2022, 11, 6),  # New York's fall-back day (a Sunday)
    date(2026, 3, 8),  # New York's spring-forward day (a Sunday)
]


def generated_cases() -> list[tuple[BillingTerms, int]]:
    """Several thousand (terms, period index) pairs, the same on every run."""
    rng = random.Random(17)
    cases = []
    for interval, count, anchor, zone in product(Interval, range(1, 5), Anchor, ZONES):
        anchors = [*FIXED_ANCHORS, date(2020, 1, 1) + timedelta(days=rng.randrange(4000))]
        for day in anchors:
            terms = BillingTerms(interval, day, count, anchor, zone)
            for index in (-1, 0, 1, 2, 11, rng.randrange(3, 60)):
                cases.append((terms, index))
    return cases


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, postgres_available):
    with throwaway_targets(tmp_path_factory, postgres_available, "billing-terms") as (
        root,
        duck_path,
        name,
    ):
        sql = compile_macro(target_envs(duck_path, name), root, CALL)
        yield sql, duck_path, PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def run(compiled, cases) -> dict[str, list[tuple]]:
    sql, duck_path, pg_dsn = compiled
    rows = [
        (i, t.interval.value, t.interval_count, t.anchor.value, t.anchor_date, t.time_zone, n)
        for i, (t, n) in enumerate(cases)
    ]
    out = {}
    columns = list(zip(*rows, strict=True))
    cases_table = pa.table(  # noqa: F841 (read by DuckDB by its name)
        {name: pa.array(values) for name, values in zip(COLUMNS, columns, strict=True)}
    )
    with duckdb.connect(str(duck_path)) as con:
        con.execute("drop table if exists billing_terms_cases")
        con.execute(DDL)
        con.execute("insert into billing_terms_cases select * from cases_table")
        out["duckdb"] = con.execute(sql["duckdb"]).fetchall()
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("drop table if exists billing_terms_cases")
        con.execute(DDL)
        with con.cursor() as cur:
            with cur.copy("copy billing_terms_cases from stdin") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(sql["postgres"])
            out["postgres"] = cur.fetchall()
    return out


def test_sql_periods_are_the_python_rules_on_duckdb_and_postgres(compiled):
    cases = generated_cases()
    assert len(cases) > 3000
    expected = []
    for i, (terms, index) in enumerate(cases):
        period = terms.period(index)
        start, end = (p.replace(tzinfo=None) for p in (period.start, period.end))
        expected.append((i, start, end, period.start_date))
    for adapter, got in run(compiled, cases).items():
        wrong = [
            (cases[e[0]], e[1:], g[1:]) for e, g in zip(expected, got, strict=True) if tuple(g) != e
        ]
        assert not wrong, f"{adapter}: {len(wrong)} periods differ, e.g. {wrong[:3]}"


def test_sql_periods_hand_made(compiled):
    """A few boundaries by hand, so a common mistake in both implementations cannot hide."""
    havana = BillingTerms("month", date(2022, 10, 6), 1, "anniversary", "America/Havana")
    cases = [
        # Tokyo (UTC+9) calendar month: 1 Feb 00:00 JST = 31 Jan 15:00 UTC.
        (BillingTerms("month", date(2026, 1, 15), 1, "calendar", "Asia/Tokyo"), 1),
        # 31 January anniversary, period 3 starts 30 April; New York is on EDT (UTC-4).
        (BillingTerms("month", date(2026, 1, 31), 1, "anniversary", "America/New_York"), 3),
        # Havana, 6 October 2022 anniversary: 6 October 00:00 CDT (UTC-4) = 04:00 UTC; on
        # 6 November clocks go back 01:00 CDT -> 00:00 CST, so midnight occurs twice, and the
        # period ends at its second occurrence, 00:00 CST (UTC-5) = 05:00 UTC.
        (havana, 0),
    ]
    got = run(compiled, cases)

    for adapter in ("duckdb", "postgres"):
        assert got[adapter][0][1:3] == (datetime(2026, 1, 31, 15), datetime(2026, 2, 28, 15))
        assert got[adapter][1][1:3] == (datetime(2026, 4, 30, 4), datetime(2026, 5, 31, 4))
        assert got[adapter][2][1:3] == (datetime(2022, 10, 6, 4), datetime(2022, 11, 6, 5))
    assert havana.period(0).end == datetime(2022, 11, 6, 5, tzinfo=UTC)
