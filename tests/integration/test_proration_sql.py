"""The warehouse's proration (``prorated_amount`` in macros/pricing.sql) agrees with the API's
(``billing.rules.proration.prorate``) to the cent, on DuckDB and PostgreSQL, over generated
cases."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.rules.pricing import minor_units
from billing.rules.proration import prorate, prorate_at, remaining_share, share_text
from tests.conftest import PG_ADMIN_DSN
from tests.integration.test_pricing_sql import compile_macro, target_envs, throwaway_targets

CALL = (
    "select case_id, {{ prorated_amount('amount', 'remaining_days', 'period_days', "
    "'minor_unit') }} as prorated from proration_cases"
)
CURRENCIES = ["USD", "JPY", "KWD", "EUR"]
# Hypothesis only generates the cases (no shrinking, no example database, no deadline): the
# cases are then run through SQL in one batch.
GENERATE_ONLY = {
    "database": None,
    "deadline": None,
    "phases": [Phase.generate],
    "suppress_health_check": list(HealthCheck),
}

amounts = st.integers(0, 12).flatmap(
    lambda places: st.integers(0, 10**9 * 10**places).map(lambda n: Decimal(n).scaleb(-places))
)
months = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 1)).map(
    lambda d: date(d.year, d.month, 1)
)


@pytest.fixture(scope="module")
def engines(tmp_path_factory, postgres_available):
    tmp = tmp_path_factory.mktemp("proration")
    name = f"billing_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    pg_dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    duck_path = tmp / "proration.duckdb"
    sql = compile_macro(
        {
            "duckdb": {"BILLING_DUCKDB_PATH": str(duck_path)},
            "postgres": {"BILLING_PG_DATABASE": name},
        },
        tmp,
        CALL,
    )
    yield sql, duck_path, pg_dsn
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def run_cases(engines, cases):
    sql, duck_path, pg_dsn = engines
    rows = [
        (i, amount, (end - day).days, (end - start).days, minor_units(cur))
        for i, (amount, day, start, end, cur) in enumerate(cases)
    ]
    ddl = (
        "create table proration_cases (case_id integer, amount numeric(38, 12), "
        "remaining_days integer, period_days integer, minor_unit integer)"
    )
    out = {}
    with duckdb.connect(str(duck_path)) as con:
        con.execute("drop table if exists proration_cases")
        con.execute(ddl)
        con.executemany("insert into proration_cases values (?, ?, ?, ?, ?)", rows)
        out["duckdb"] = dict(con.execute(sql["duckdb"]).fetchall())
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("drop table if exists proration_cases")
        con.execute(ddl)
        with con.cursor() as cur:
            cur.executemany("insert into proration_cases values (%s, %s, %s, %s, %s)", rows)
            cur.execute(sql["postgres"])
            out["postgres"] = dict(cur.fetchall())
    return out


def test_hand_made_cases(engines):
    cases = [
        (Decimal(30), date(2026, 2, 10), date(2026, 2, 1), date(2026, 3, 1), "USD"),  # 19/28
        (Decimal(60), date(2026, 1, 31), date(2026, 1, 1), date(2026, 2, 1), "USD"),  # 1/31
        (Decimal("0.05"), date(2026, 4, 16), date(2026, 4, 1), date(2026, 5, 1), "USD"),  # half
        (Decimal(1000), date(2026, 4, 2), date(2026, 4, 1), date(2026, 5, 1), "JPY"),
        (Decimal("1.2345"), date(2026, 1, 2), date(2026, 1, 1), date(2026, 2, 1), "KWD"),
    ]
    results = run_cases(engines, cases)
    expected = [prorate(*case) for case in cases]
    assert expected[:3] == [Decimal("20.36"), Decimal("1.94"), Decimal("0.03")]
    for adapter, got in results.items():
        assert [got[i] for i in range(len(cases))] == expected, adapter


def test_sql_and_python_agree(engines):
    cases = []

    @settings(max_examples=1500, **GENERATE_ONLY)
    @given(amounts, months, st.integers(0, 30), st.sampled_from(CURRENCIES))
    def collect(amount, start, offset, currency):
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        day = min(start + timedelta(days=offset), end - timedelta(days=1))
        cases.append((amount, day, start, end, currency))

    collect()
    assert len(cases) > 1000
    results = run_cases(engines, cases)
    expected = [prorate(*case) for case in cases]
    assert sum(1 for e in expected if e) > len(cases) / 3  # not trivially zero
    for adapter, got in results.items():
        mismatches = [
            (cases[i], expected[i], got[i]) for i in range(len(cases)) if got[i] != expected[i]
        ]
        assert not mismatches, (adapter, mismatches[:5])


SHARE_CALL = (
    "select case_id, {{ share_remaining('unit', 'changed_at', 'period_end') }} as remaining, "
    "{{ share_whole('unit', 'period_start', 'period_end') }} as whole, "
    "{{ share_text('unit', 'changed_at', 'period_start', 'period_end') }} as share, "
    "{{ prorated_amount('amount', share_remaining('unit', 'changed_at', 'period_end'), "
    "share_whole('unit', 'period_start', 'period_end'), 'minor_unit') }} as prorated "
    "from share_cases order by case_id"
)


def test_day_and_second_shares_agree_with_python(tmp_path_factory, postgres_available):
    """A fee prorated from an instant, by days or by seconds (share_remaining / share_whole /
    share_text feeding prorated_amount), as billing.rules.proration.prorate_at computes it."""
    sep, oct_ = date(2026, 9, 1), date(2026, 10, 1)
    cases = [
        # 30 x (14 days 15 h = 1,263,600 s) / 2,592,000 s = 14.625 -> 14.63 (half up)
        (Decimal(30), datetime(2026, 9, 16, 9, 0), sep, oct_, "USD", "second"),
        (Decimal(30), datetime(2026, 9, 16, 9, 0), sep, oct_, "USD", "day"),  # 15/30: 15.00
        # the fraction of a second is cut: 1 s left of the month
        (Decimal(100), datetime(2026, 9, 30, 23, 59, 59, 900000), sep, oct_, "USD", "second"),
        (
            Decimal(1000),
            datetime(2026, 2, 28, 12),
            date(2026, 2, 1),
            sep.replace(month=3),
            "JPY",
            "second",
        ),
    ]

    @settings(max_examples=400, **GENERATE_ONLY)
    @given(
        amounts,
        months,
        st.integers(0, 31 * 86400 - 1),
        st.sampled_from(CURRENCIES),
        st.sampled_from(["day", "second"]),
    )
    def collect(amount, start, offset, currency, unit):
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        at = min(
            datetime.combine(start, time()) + timedelta(seconds=offset),
            datetime.combine(end, time()) - timedelta(seconds=1),
        )
        cases.append((amount, at, start, end, currency, unit))

    collect()
    expected = [
        (
            *remaining_share(at, start, end, unit),
            share_text(at, start, end, unit),
            prorate_at(amount, at, start, end, currency, unit),
        )
        for amount, at, start, end, currency, unit in cases
    ]
    assert expected[:3] == [
        (1263600, 2592000, "1263600/2592000 s", Decimal("14.63")),
        (15, 30, "15/30 days", Decimal("15.00")),
        (1, 2592000, "1/2592000 s", Decimal("0.00")),
    ]
    rows = [
        (i, unit, at, start, end, amount, minor_units(currency))
        for i, (amount, at, start, end, currency, unit) in enumerate(cases)
    ]
    ddl = (
        "create table share_cases (case_id integer, unit varchar(6), changed_at timestamp, "
        "period_start date, period_end date, amount numeric(38, 12), minor_unit integer)"
    )
    with throwaway_targets(tmp_path_factory, postgres_available, "shares") as (
        root,
        duckdb_path,
        database,
    ):
        sql = compile_macro(target_envs(duckdb_path, database), root, SHARE_CALL)
        got = {}
        with duckdb.connect(str(duckdb_path)) as con:
            con.execute(ddl)
            con.executemany("insert into share_cases values (?, ?, ?, ?, ?, ?, ?)", rows)
            got["duckdb"] = con.execute(sql["duckdb"]).fetchall()
        pg_dsn = psycopg.conninfo.make_conninfo(PG_ADMIN_DSN, dbname=database)
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(ddl)
            with con.cursor() as cur:
                cur.executemany("insert into share_cases values (%s, %s, %s, %s, %s, %s, %s)", rows)
                cur.execute(sql["postgres"])
                got["postgres"] = cur.fetchall()
    for adapter, result in got.items():
        mismatches = [
            (cases[i], expected[i], tuple(row[1:]))
            for i, row in enumerate(result)
            if tuple(row[1:]) != expected[i]
        ]
        assert not mismatches and len(result) == len(cases), (adapter, mismatches[:5])
