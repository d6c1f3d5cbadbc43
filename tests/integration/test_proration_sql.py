"""The warehouse's proration (``prorated_amount`` in macros/pricing.sql) agrees with the API's
(``billing.rules.proration.prorate``) to the cent, on DuckDB and PostgreSQL, over generated
cases."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from billing.rules.pricing import minor_units
from billing.rules.proration import prorate
from tests.conftest import PG_ADMIN_DSN
from tests.integration.test_pricing_sql import compile_macro

CALL = (
    "select case_id, {{ prorated_amount('amount', 'remaining_days', 'period_days', "
    "'minor_unit') }} as prorated from proration_cases"
)
CURRENCIES = ["USD", "JPY", "KWD", "EUR"]

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

    @settings(
        max_examples=1500,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
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
