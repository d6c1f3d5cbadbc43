"""The subscription analytics marts (dbt_project/models/marts/analytics) built by dbt on DuckDB and
PostgreSQL from a small hand-made world, with the numbers worked out by hand. The models' own
YAML unit tests and data tests (the MRR bridge) run in the same ``dbt build``.

The world, from the marts' inputs (staging control plane, invoice facts), all times UTC:

  A   plan basic (50.00 a month) from 2026-01-10; pro (80.00) from 2026-02-15; cancelled
      2026-04-20. January usage billed 12.40; February 4.00, plus a 1.00 adjustment on the March
      draft; a void February invoice (100.00 of usage) does not count. Back on basic from
      2026-06-01, cancelled at 2026-07-01 00:00 (still paying at the end of June).
      MRR: Jan 50 (new), Feb 80 + 12.40 = 92.40 (expansion), Mar 80 + 5 = 85 (contraction),
      Apr 0 (churn), May none, Jun 50 (reactivation), Jul 0 (churn).
  B   annual plan (1,000.00 a year) from 2026-01-01, in trial until 2026-02-01 00:00 (so in
      trial at January's end); an override of 1,200.00 a year from 2026-04-01 (an older
      version, superseded, is ignored); cancelled 2026-05-01.
      MRR: Feb 1000/12 = 83.333333333 (new; ARR 1,000), Apr 100 (expansion +16.666666667;
      ARR 1,200), May 0 (churn).
  C   EUR plan (30.00) from 2026-03-05; March usage billed 7.50.
      MRR: Mar 30 (new), Apr 37.50 (expansion), May 30 (contraction), then 30.
  D   basic from 2026-01-01, cancelled 2026-03-01; January minimum-commitment top-up 10.00.
      MRR: Jan 50 (new), Feb 60 (expansion), Mar 0 (churn).
  E   a free plan (0.00), no usage: never any MRR, in no cohort.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.warehouse.serving import publish_snapshot
from api.main import API_PREFIX, create_app
from tests.conftest import ADMIN_KEY, PG_ADMIN_DSN, run_dbt
from tests.integration.test_pricing_sql import (
    dbt_on_each_adapter,
    target_envs,
    throwaway_targets,
)

D = Decimal
MONEY = "numeric(38, 9)"
TABLES: dict[str, tuple[str, list[tuple]]] = {
    "staging.stg_control_plane__plans": (
        f"plan_id bigint, plan_code text, plan_version integer, currency text, "
        f"billing_interval text, base_fee_amount {MONEY}",
        [
            (1, "basic", 1, "USD", "month", D("50")),
            (2, "pro", 1, "USD", "month", D("80")),
            (3, "annual", 1, "USD", "year", D("1000")),
            (4, "euro", 1, "EUR", "month", D("30")),
            (5, "free", 1, "USD", "month", D("0")),
        ],
    ),
    "staging.stg_control_plane__subscriptions": (
        "subscription_id text, tenant_id text, started_at timestamp, trial_ends_at timestamp, "
        "cancel_at timestamp",
        [
            ("a1", "A", datetime(2026, 1, 10), None, datetime(2026, 4, 20)),
            ("a2", "A", datetime(2026, 6, 1), None, datetime(2026, 7, 1)),
            ("b1", "B", datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 5, 1)),
            ("c1", "C", datetime(2026, 3, 5, 9, 30), None, None),
            ("d1", "D", datetime(2026, 1, 1), None, datetime(2026, 3, 1)),
            ("e1", "E", datetime(2026, 1, 1), None, None),
        ],
    ),
    "staging.stg_control_plane__subscription_phases": (
        "phase_id bigint, subscription_id text, plan_id bigint, starts_at timestamp, "
        "ends_at timestamp",
        [
            (1, "a1", 1, datetime(2026, 1, 10), datetime(2026, 2, 15)),
            (2, "a1", 2, datetime(2026, 2, 15), datetime(2026, 4, 20)),
            (3, "a2", 1, datetime(2026, 6, 1), datetime(2026, 7, 1)),
            (4, "b1", 3, datetime(2026, 1, 1), datetime(2026, 5, 1)),
            (5, "c1", 4, datetime(2026, 3, 5, 9, 30), None),
            (6, "d1", 1, datetime(2026, 1, 1), datetime(2026, 3, 1)),
            (7, "e1", 5, datetime(2026, 1, 1), None),
        ],
    ),
    "staging.stg_control_plane__override_versions": (
        f"subscription_id text, override_version integer, plan_id bigint, "
        f"effective_from timestamp, base_fee_amount {MONEY}, superseded_at timestamp",
        [
            ("b1", 1, 3, datetime(2026, 3, 1), D("2000"), datetime(2026, 3, 2)),
            ("b1", 2, 3, datetime(2026, 4, 1), D("1200"), None),
        ],
    ),
    "marts.fct_invoices": (
        "invoice_id text, status text, subscription_id text, tenant_id text, period_start date, "
        "currency text",
        [
            ("a1-01", "finalized", "a1", "A", date(2026, 1, 1), "USD"),
            ("a1-02-void", "void", "a1", "A", date(2026, 2, 1), "USD"),
            ("a1-02", "finalized", "a1", "A", date(2026, 2, 1), "USD"),
            ("a1-03", "draft", "a1", "A", date(2026, 3, 1), "USD"),
            ("c1-03", "finalized", "c1", "C", date(2026, 3, 1), "EUR"),
            ("d1-01", "finalized", "d1", "D", date(2026, 1, 1), "USD"),
        ],
    ),
    "marts.fct_invoice_lines": (
        f"invoice_id text, line_number integer, line_kind text, service_period_start date, "
        f"amount {MONEY}",
        [
            ("a1-01", 1, "base_fee", date(2026, 1, 1), D("35.48")),
            ("a1-01", 2, "usage", date(2026, 1, 1), D("12.40")),
            ("a1-02-void", 1, "usage", date(2026, 2, 1), D("100")),
            ("a1-02", 1, "base_fee", date(2026, 2, 1), D("50")),
            ("a1-02", 2, "proration_credit", date(2026, 2, 1), D("-25")),
            ("a1-02", 3, "proration_charge", date(2026, 2, 1), D("40")),
            ("a1-02", 4, "usage", date(2026, 2, 1), D("4")),
            ("a1-03", 1, "base_fee", date(2026, 3, 1), D("80")),
            ("a1-03", 2, "usage_adjustment", date(2026, 2, 1), D("1")),
            ("a1-03", 3, "usage", date(2026, 3, 1), D("9.99")),
            ("a1-03", 4, "discount", date(2026, 3, 1), D("-5")),
            ("c1-03", 1, "base_fee", date(2026, 3, 1), D("27.10")),
            ("c1-03", 2, "usage", date(2026, 3, 1), D("7.50")),
            ("d1-01", 1, "base_fee", date(2026, 1, 1), D("50")),
            ("d1-01", 2, "minimum_commitment", date(2026, 1, 1), D("10")),
        ],
    ),
}
SELECT = ["int_billing_periods", "marts.analytics", "path:tests/analytics"]
QUERIES = {
    "subscription_mrr": "select * from marts.fct_subscription_mrr",
    "mrr": "select * from marts.fct_mrr",
    "movements": "select * from marts.fct_mrr_movements",
    "monthly": "select * from marts.fct_mrr_monthly",
    "retention": "select * from marts.fct_revenue_retention",
}


def m(month: int) -> date:
    return date(2026, month, 1)


def load(adapter: str, location: str) -> None:
    """The hand-made world, as the tables the marts read."""
    statements = ["create schema if not exists staging", "create schema if not exists marts"]
    for table, (columns, _) in TABLES.items():
        statements += [f"drop table if exists {table}", f"create table {table} ({columns})"]
    if adapter == "duckdb":
        with duckdb.connect(location) as con:
            for statement in statements:
                con.execute(statement)
            for table, (_, rows) in TABLES.items():
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {table} values ({marks})", rows)
        return
    with psycopg.connect(location, autocommit=True) as con:
        for statement in statements:
            con.execute(statement)
        with con.cursor() as cur:
            for table, (_, rows) in TABLES.items():
                marks = ", ".join(["%s"] * len(rows[0]))
                cur.executemany(f"insert into {table} values ({marks})", rows)


def build(envs: dict[str, dict[str, str]], root: Path) -> dict[str, str]:
    """``dbt build`` of the marts (models, unit tests, data tests) on each adapter, in
    parallel; its output per adapter."""
    one_thread = {adapter: {**env, "BILLING_DBT_THREADS": "1"} for adapter, env in envs.items()}
    args = ["build", "--select", *SELECT, "--indirect-selection", "cautious"]
    return dbt_on_each_adapter(one_thread, root, args, 300)


def read(adapter: str, location: str) -> dict[str, list[dict]]:
    out = {}
    if adapter == "duckdb":
        with duckdb.connect(location, read_only=True) as con:
            for name, sql in QUERIES.items():
                result = con.execute(sql)
                columns = [c[0] for c in result.description]
                out[name] = [dict(zip(columns, r, strict=True)) for r in result.fetchall()]
        return out
    with psycopg.connect(location) as con:
        for name, sql in QUERIES.items():
            with con.cursor() as cur:
                cur.execute(sql)
                columns = [c[0] for c in cur.description]
                out[name] = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return out


@pytest.fixture(scope="module")
def marts(tmp_path_factory, postgres_available) -> dict[str, dict]:
    with throwaway_targets(tmp_path_factory, postgres_available, "analytics") as (
        root,
        duckdb_path,
        database,
    ):
        locations = {
            "duckdb": str(duckdb_path),
            "postgres": psycopg.conninfo.make_conninfo(PG_ADMIN_DSN, dbname=database),
        }
        for adapter, location in locations.items():
            load(adapter, location)
        outputs = build(target_envs(duckdb_path, database), root)
        return {
            adapter: {**read(adapter, location), "output": outputs[adapter]}
            for adapter, location in locations.items()
        }


ADAPTERS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_unit_and_data_tests_ran_and_passed(marts, adapter):
    output = marts[adapter]["output"]
    assert "assert_mrr_movements_sum_to_mrr_change" in output
    assert "ERROR=0" in output and "WARN=0" in output
    for unit_test in ("annual_plan_is_normalised_to_a_month", "each_movement_type"):
        assert unit_test in output, unit_test


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_subscription_mrr(marts, adapter):
    rows = {(r["subscription_id"], r["month_start"]): r for r in marts[adapter]["subscription_mrr"]}
    # A: the plan in force at each month's end, the previous month's billed usage.
    assert [rows[("a1", m(n))]["mrr_amount"] for n in (1, 2, 3)] == [D(50), D("92.40"), D(85)]
    assert [rows[("a1", m(n))]["plan_id"] for n in (1, 2, 3)] == [1, 2, 2]
    assert ("a1", m(4)) not in rows and ("a2", m(6)) in rows and ("a2", m(7)) not in rows
    # B: in trial at January's end; the annual fee normalised, then overridden.
    assert ("b1", m(1)) not in rows
    feb, apr = rows[("b1", m(2))], rows[("b1", m(4))]
    assert (feb["fixed_mrr_amount"], feb["arr_amount"]) == (D("83.333333333"), D(1000))
    assert (apr["base_fee_amount"], apr["mrr_amount"], apr["arr_amount"]) == (
        D(1200),
        D(100),
        D(1200),
    )
    assert rows[("b1", m(3))]["base_fee_amount"] == D(1000)  # the superseded 2,000 ignored
    # D: the minimum-commitment top-up is usage.
    assert rows[("d1", m(2))]["usage_mrr_amount"] == D(10)
    assert rows[("e1", m(1))]["mrr_amount"] == 0
    assert isinstance(feb["mrr_amount"], Decimal)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_movements_of_each_type(marts, adapter):
    got = sorted(
        (r["tenant_id"], r["month_start"], r["movement_type"], r["mrr_change_amount"])
        for r in marts[adapter]["movements"]
    )
    assert got == [
        ("A", m(1), "new", D(50)),
        ("A", m(2), "expansion", D("42.40")),
        ("A", m(3), "contraction", D("-7.40")),
        ("A", m(4), "churn", D(-85)),
        ("A", m(6), "reactivation", D(50)),
        ("A", m(7), "churn", D(-50)),
        ("B", m(2), "new", D("83.333333333")),
        ("B", m(4), "expansion", D("16.666666667")),
        ("B", m(5), "churn", D(-100)),
        ("C", m(3), "new", D(30)),
        ("C", m(4), "expansion", D("7.50")),
        ("C", m(5), "contraction", D("-7.50")),
        ("D", m(1), "new", D(50)),
        ("D", m(2), "expansion", D(10)),
        ("D", m(3), "churn", D(-60)),
    ]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_tenant_mrr_rows(marts, adapter):
    rows = marts[adapter]["mrr"]
    a = [(r["month_start"], r["mrr_amount"]) for r in rows if r["tenant_id"] == "A"]
    assert sorted(a) == [
        (m(1), D(50)),
        (m(2), D("92.40")),
        (m(3), D(85)),
        (m(4), D(0)),
        (m(6), D(50)),
        (m(7), D(0)),
    ]
    assert not [r for r in rows if r["tenant_id"] == "E"]
    assert {r["cohort_month_start"] for r in rows if r["tenant_id"] == "B"} == {m(2)}


def ratio(numerator: str, denominator: str, places: int = 6) -> Decimal:
    return (D(numerator) / D(denominator)).quantize(D(1).scaleb(-places), ROUND_HALF_UP)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_monthly_bridge_churn_and_arpa(marts, adapter):
    usd = {r["month_start"]: r for r in marts[adapter]["monthly"] if r["currency"] == "USD"}
    feb, mar, apr, may = usd[m(2)], usd[m(3)], usd[m(4)], usd[m(5)]
    # February: A +42.40 and D +10 expand, B is new.
    assert (feb["starting_mrr_amount"], feb["expansion_mrr_amount"], feb["new_mrr_amount"]) == (
        D(100),
        D("52.40"),
        D("83.333333333"),
    )
    assert feb["ending_mrr_amount"] == D("235.733333333")
    # ARR: A 80 x 12 + 12.40 x 12, D 50 x 12 + 10 x 12, B 1,000.
    assert feb["ending_arr_amount"] == D("2828.80")
    assert feb["arpa_amount"] == D("78.577777778")  # 235.733333333 / 3
    assert (feb["logo_churn_rate"], feb["revenue_churn_rate"]) == (0, 0)
    # March: D churns (-60), A contracts (-7.40): 1 of 3 tenants, 67.40 of 235.733333333.
    assert (mar["churned_tenant_count"], mar["starting_tenant_count"]) == (1, 3)
    assert mar["logo_churn_rate"] == D("0.333333")
    assert mar["revenue_churn_rate"] == ratio("67.40", "235.733333333") == D("0.285916")
    assert mar["net_revenue_churn_rate"] == mar["revenue_churn_rate"]
    # April: A churns (-85), B expands (+16.666666667).
    assert apr["logo_churn_rate"] == D("0.5")
    assert apr["revenue_churn_rate"] == ratio("85", "168.333333333") == D("0.504950")
    assert apr["net_revenue_churn_rate"] == ratio("68.333333333", "168.333333333")
    assert apr["ending_mrr_amount"] == D(100) and apr["arpa_amount"] == D(100)
    assert (may["logo_churn_rate"], may["ending_tenant_count"], may["arpa_amount"]) == (
        D(1),
        0,
        None,
    )
    jun = usd[m(6)]
    assert (jun["reactivation_mrr_amount"], jun["reactivated_tenant_count"]) == (D(50), 1)
    assert jun["logo_churn_rate"] is None  # nobody paying at the start
    eur = {r["month_start"]: r for r in marts[adapter]["monthly"] if r["currency"] == "EUR"}
    assert eur[m(5)]["contraction_mrr_amount"] == D("-7.50")
    assert eur[m(5)]["net_revenue_churn_rate"] == ratio("7.50", "37.50") == D("0.2")
    assert eur[m(6)]["ending_mrr_amount"] == D(30)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_revenue_retention_by_cohort(marts, adapter):
    rows = {
        (r["cohort_month_start"], r["currency"], r["month_start"]): r
        for r in marts[adapter]["retention"]
    }
    # The January USD cohort: A (50) and D (50), starting MRR 100.
    expected = {  # month: (MRR, net, gross, logo)
        1: (D(100), D(1), D(1), D(1)),
        2: (D("152.40"), D("1.524"), D(1), D(1)),  # gross: min(92.40, 50) + min(60, 50)
        3: (D(85), D("0.85"), D("0.5"), D("0.5")),
        4: (D(0), D(0), D(0), D(0)),
        5: (D(0), D(0), D(0), D(0)),
        6: (D(50), D("0.5"), D("0.5"), D("0.5")),
        7: (D(0), D(0), D(0), D(0)),
    }
    for month, values in expected.items():
        row = rows[(m(1), "USD", m(month))]
        got = (
            row["mrr_amount"],
            row["net_revenue_retention"],
            row["gross_revenue_retention"],
            row["logo_retention"],
        )
        assert got == values, month
        assert (row["cohort_tenant_count"], row["starting_mrr_amount"]) == (2, D(100))
        assert row["months_since_cohort"] == month - 1
    # The February USD cohort (B): the override lifts net retention above 1, not gross.
    apr = rows[(m(2), "USD", m(4))]
    assert apr["net_revenue_retention"] == ratio("100", "83.333333333") == D("1.2")
    assert apr["gross_revenue_retention"] == D(1)
    assert (m(1), "USD", m(1)) in rows and (m(3), "USD", m(3)) not in rows
    assert rows[(m(3), "EUR", m(4))]["net_revenue_retention"] == D("1.25")


# ----------------------------------------------------------------------------- the API
MRR_URL = f"{API_PREFIX}/analytics/mrr"
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api(client, settings):
    """The world built by the pipeline's dbt into a DuckDB warehouse, published as a serving
    snapshot, behind the API."""
    assert client.get(MRR_URL, headers=ADMIN).json()["count"] == 0  # nothing published
    load("duckdb", str(settings.duckdb_path))
    run_dbt(settings, "dbt-analytics", ["build", "--select", *SELECT], timeout=300)
    publish_snapshot(settings)
    return client


def test_mrr_endpoint_pages_filters_and_rounds_where_it_presents(api):
    page = api.get(MRR_URL, params={"currency": "USD", "limit": 3}, headers=ADMIN).json()
    # USD rows: A x6, B x4 (Feb-May), D x3.
    assert page["count"] == 13 and page["as_of"]
    assert [(r["month"], r["tenant_id"], r["mrr"], r["movement"]) for r in page["data"]] == [
        ("2026-01-01", "A", "50.00", "new"),
        ("2026-01-01", "D", "50.00", "new"),
        ("2026-02-01", "A", "92.40", "expansion"),
    ]
    second = api.get(
        MRR_URL, params={"currency": "USD", "limit": 3, "offset": 3}, headers=ADMIN
    ).json()
    b = second["data"][0]
    assert (b["tenant_id"], b["mrr"], b["arr"], b["movement"]) == ("B", "83.33", "1000.00", "new")
    assert b["cohort_month"] == "2026-02-01" and b["fixed_mrr"] == "83.33"
    b_rows = api.get(
        MRR_URL,
        params={"tenant_id": "B", "start": "2026-03-01", "end": "2026-04-01"},
        headers=ADMIN,
    ).json()["data"]
    assert [(r["month"], r["mrr"], r["movement"]) for r in b_rows] == [
        ("2026-03-01", "83.33", None),
        ("2026-04-01", "100.00", "expansion"),
    ]
    eur = api.get(MRR_URL, params={"currency": "EUR", "end": "2026-05-01"}, headers=ADMIN).json()
    assert [r["mrr"] for r in eur["data"]] == ["30.00", "37.50", "30.00"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-03-02"}, "start"),
        ({"end": "2026-13-01"}, "query.end"),
        ({"start": "2026-04-01", "end": "2026-03-01"}, "end"),
        ({"currency": "XYZ"}, "currency"),
        ({"limit": 0}, "query.limit"),
        ({"offset": -1}, "query.offset"),
    ],
)
def test_mrr_endpoint_names_the_bad_field(client, params, field):
    response = client.get(MRR_URL, params=params, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_mrr_endpoint_is_for_the_admin_key(client):
    created = client.post(f"{API_PREFIX}/api-keys", json={"tenant_id": "A"}, headers=ADMIN).json()
    assert client.get(MRR_URL, headers={"X-API-Key": created["key"]}).status_code == 403
    assert client.get(MRR_URL).status_code == 401
