"""The month-end forecast and anomaly rules (``dbt_project/macros/money_series.sql``) on
synthetic daily series with answers worked out by hand, compiled by dbt and run on DuckDB and
PostgreSQL.

Forecast (as of 2026-11-20, 10 days left in November, run rate = median of the 7 days to the
20th, missing days zero):
  aws/compute   10.00 every day Nov 1-19, 1,000.00 on the 20th: MTD 1,190; median 10 (the spike
                does not move it); forecast 1,190 + 10 x 10 = 1,290
  gcp/storage   5.00 on Nov 2, 14, 16, 18, 20 only: trailing days 0,5,0,5,0,5,5 -> median 5;
                MTD 25; forecast 75
  azure/db      1.50 on Nov 19 and 20 and 3.25 on Oct 31 (last month): trailing days
                0,0,0,0,0,1.5,1.5 -> median 0; MTD 3; forecast 3
  aws/network   1..7 on Nov 14-20: median 4; MTD 28; forecast 68

Anomalies (14-day window, at least 7 days of history, 3 x 1.4826 x MAD, floor 10.00):
  aws/compute   Oct 1-31: 100 on odd days, 104 on even days, except 500 on Oct 3 (only 2 days of
                history: not flagged), 300 on Oct 20 (baseline 102, MAD 2: flagged) and no row on
                Oct 25 (zero: 102 below the baseline, flagged)
  gcp/storage   1.00 every day, 5.00 on Oct 20: MAD 0, but 4.00 is under the floor: not flagged

Anomalies per cost center (keys provider, service and cost center, as
fct_cloud_cost_center_anomalies), aws/compute Oct 1-20:
  payments      100 on odd days, 104 on even days, 160 on Oct 20: baseline 102, MAD 2,
                deviation 58 > 8.8956 and >= 10: flagged (the only flag)
  search        900, 1,000, 1,100 as the day mod 3 is 0, 1, 2: the median is always 1,000 and
                the MAD 100 (more days are 100 away than not), so no day is flagged
  The service's total (keys provider and service) hides the spike: Oct 6-19 are 1,000 (x2),
  1,004 (x3), 1,100 (x3), 1,104 (x2), 1,200 (x2), 1,204 (x2): baseline 1,100, MAD 96; Oct 20
  is 160 + 1,100 = 1,260, deviation 160 < 3 x 1.4826 x 96 = 426.99: not flagged (nor any day).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import psycopg
import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.integration.test_pricing_sql import compile_macro, target_envs, throwaway_targets

SPLIT = "-- @@split@@"
CALL = (
    "{{ month_end_forecast('series_input', ['provider', 'service'], as_of=\"date '2026-11-20'\") }}"
    f"\n{SPLIT}\n"
    "{{ daily_anomalies('anomaly_input', ['provider', 'service']) }}"
    f"\n{SPLIT}\n"
    "{{ month_end_forecast('series_input', ['provider', 'service']) }}"
    f"\n{SPLIT}\n"
    "{{ daily_anomalies('center_input', ['provider', 'service', 'cost_center']) }}"
    f"\n{SPLIT}\n"
    "{{ daily_anomalies('center_input', ['provider', 'service']) }}"
)
DDL = "(provider text, service text, day date, amount numeric(38, 9))"
CENTER_DDL = "(provider text, service text, cost_center text, day date, amount numeric(38, 9))"


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def forecast_rows() -> list[tuple]:
    rows = [("aws", "compute", d(11, day), Decimal("10")) for day in range(1, 20)]
    rows.append(("aws", "compute", d(11, 20), Decimal("1000")))
    rows += [("gcp", "storage", d(11, day), Decimal("5")) for day in (2, 14, 16, 18, 20)]
    rows += [("azure", "db", d(11, day), Decimal("1.5")) for day in (19, 20)]
    rows.append(("azure", "db", d(10, 31), Decimal("3.25")))
    rows += [("aws", "network", d(11, 13 + i), Decimal(i)) for i in range(1, 8)]
    return rows


def anomaly_rows() -> list[tuple]:
    rows = []
    for day in range(1, 32):
        amount = Decimal(100 if day % 2 else 104)
        if day == 3:
            amount = Decimal(500)
        elif day == 20:
            amount = Decimal(300)
        if day != 25:
            rows.append(("aws", "compute", d(10, day), amount))
        rows.append(("gcp", "storage", d(10, day), Decimal("5" if day == 20 else "1")))
    return rows


def center_rows() -> list[tuple]:
    rows = []
    for day in range(1, 21):
        payments = Decimal(160 if day == 20 else 100 if day % 2 else 104)
        search = Decimal((900, 1000, 1100)[day % 3])
        rows.append(("aws", "compute", "payments", d(10, day), payments))
        rows.append(("aws", "compute", "search", d(10, day), search))
    return rows


def inputs() -> list[tuple[str, str, list[tuple]]]:
    return [
        ("series_input", DDL, forecast_rows()),
        ("anomaly_input", DDL, anomaly_rows()),
        ("center_input", CENTER_DDL, center_rows()),
    ]


def run(adapter: str, location: str, sql: str) -> list[list[dict]]:
    statements = sql.split(SPLIT)
    out = []
    if adapter == "duckdb":
        con = duckdb.connect(location)
        for name, ddl, rows in inputs():
            con.execute(f"create or replace table {name} {ddl}")
            marks = ", ".join("?" * len(rows[0]))
            con.executemany(f"insert into {name} values ({marks})", rows)
        for statement in statements:
            result = con.execute(statement)
            columns = [c[0] for c in result.description]
            out.append([dict(zip(columns, r, strict=True)) for r in result.fetchall()])
        con.close()
        return out
    with psycopg.connect(location, autocommit=True) as con:
        for name, ddl, rows in inputs():
            con.execute(f"drop table if exists {name}")
            con.execute(f"create table {name} {ddl}")
            marks = ", ".join(["%s"] * len(rows[0]))
            with con.cursor() as cur:
                cur.executemany(f"insert into {name} values ({marks})", rows)
        for statement in statements:
            with con.cursor() as cur:
                cur.execute(statement)
                columns = [c[0] for c in cur.description]
                out.append([dict(zip(columns, r, strict=True)) for r in cur.fetchall()])
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory, postgres_available) -> dict[str, list[list[dict]]]:
    with throwaway_targets(tmp_path_factory, postgres_available, "money_series") as (
        root,
        duckdb_path,
        database,
    ):
        compiled = compile_macro(target_envs(duckdb_path, database), root, CALL)
        return {
            "duckdb": run("duckdb", str(duckdb_path), compiled["duckdb"]),
            "postgres": run(
                "postgres",
                psycopg.conninfo.make_conninfo(PG_ADMIN_DSN, dbname=database),
                compiled["postgres"],
            ),
        }


ADAPTERS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["provider"], r["service"]): r for r in rows}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_month_end_forecast(results, adapter):
    forecast = by_key(results[adapter][0])
    expected = {
        ("aws", "compute"): ("1190", "10", "1290"),
        ("gcp", "storage"): ("25", "5", "75"),
        ("azure", "db"): ("3", "0", "3"),
        ("aws", "network"): ("28", "4", "68"),
    }
    assert set(forecast) == set(expected)
    for key, (mtd, rate, total) in expected.items():
        row = forecast[key]
        assert row["month_to_date_amount"] == Decimal(mtd), key
        assert row["run_rate_amount"] == Decimal(rate), key
        assert row["forecast_amount"] == Decimal(total), key
        assert isinstance(row["forecast_amount"], Decimal)
        assert (row["month_start"], row["as_of_date"]) == (d(11, 1), d(11, 20))
        assert (row["days_elapsed"], row["days_remaining"]) == (20, 10)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_forecast_as_of_defaults_to_the_latest_day(results, adapter):
    assert {r["as_of_date"] for r in results[adapter][2]} == {d(11, 20)}
    assert by_key(results[adapter][2]) == by_key(results[adapter][0])


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_anomalies_flag_injected_spikes_only(results, adapter):
    rows = results[adapter][1]
    flagged = sorted((r["provider"], r["service"], r["day"]) for r in rows if r["is_anomaly"])
    assert flagged == [("aws", "compute", d(10, 20)), ("aws", "compute", d(10, 25))]
    days = {(r["provider"], r["service"], r["day"]): r for r in rows}
    # Every day of both series is there, the missing Oct 25 as zero.
    assert len(rows) == 62
    spike = days[("aws", "compute", d(10, 20))]
    assert (spike["baseline_amount"], spike["mad_amount"]) == (Decimal(102), Decimal(2))
    assert spike["deviation_amount"] == Decimal(198) and spike["history_days"] == 14
    gap = days[("aws", "compute", d(10, 25))]
    assert gap["amount"] == 0 and gap["deviation_amount"] == Decimal(-102)
    early = days[("aws", "compute", d(10, 3))]
    assert early["history_days"] == 2 and not early["is_anomaly"]
    first = days[("aws", "compute", d(10, 1))]
    assert first["history_days"] == 0 and first["baseline_amount"] is None
    small = days[("gcp", "storage", d(10, 20))]
    assert small["mad_amount"] == 0 and small["deviation_amount"] == 4
    assert not small["is_anomaly"]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_anomalies_per_cost_center_find_a_spike_the_service_total_hides(results, adapter):
    per_center = results[adapter][3]
    assert len(per_center) == 40  # two centers x Oct 1-20
    flagged = [(r["cost_center"], r["day"]) for r in per_center if r["is_anomaly"]]
    assert flagged == [("payments", d(10, 20))]
    spike = next(r for r in per_center if (r["cost_center"], r["day"]) == ("payments", d(10, 20)))
    assert (spike["baseline_amount"], spike["mad_amount"]) == (Decimal(102), Decimal(2))
    assert spike["deviation_amount"] == Decimal(58) and spike["history_days"] == 14
    search = next(r for r in per_center if (r["cost_center"], r["day"]) == ("search", d(10, 20)))
    assert (search["baseline_amount"], search["mad_amount"]) == (Decimal(1000), Decimal(100))
    # The same days summed per service: the spike is inside the noise.
    per_service = results[adapter][4]
    assert len(per_service) == 20
    assert not any(r["is_anomaly"] for r in per_service)
    total = next(r for r in per_service if r["day"] == d(10, 20))
    assert (total["amount"], total["baseline_amount"], total["mad_amount"]) == (
        Decimal(1260),
        Decimal(1100),
        Decimal(96),
    )
