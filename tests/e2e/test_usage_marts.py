"""Events on Kafka -> Dagster (land, dbt build, publish) -> usage marts, on DuckDB and
PostgreSQL, checked against hand-computed answers; and the two targets agree row for row."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from adapters.warehouse.connection import Warehouse
from adapters.warehouse.serving import ServingReader
from tests.conftest import (
    TEST_METERS,
    cloud_event,
    produce,
    run_dbt,
    run_pipeline,
    seed_meters,
)


def ev(event_id, tenant, when, value, user="u1", region="eu"):
    return cloud_event(event_id, tenant, when, {"value": value, "user_id": user, "region": region})


HAND_MADE = [
    # tenant-a: two events of one user, values 10 and 20 -> count 2 / sum 30 / max 20 / unique 1
    ev("a1", "tenant-a", datetime(2026, 10, 5, 10), 10),
    ev("a2", "tenant-a", datetime(2026, 10, 5, 11), 20),
    # tenant-b: `latest` is the last by event time, not by arrival
    ev("b1", "tenant-b", datetime(2026, 10, 7, 12), "5.25"),
    ev("b2", "tenant-b", datetime(2026, 10, 7, 9), 7),
    # tenant-c: u1 on two days, u2 on the second -> daily uniques 1 and 2, period unique 2
    ev("c1", "tenant-c", datetime(2026, 10, 1, 8), 1, user="u1", region="us"),
    ev("c2", "tenant-c", datetime(2026, 10, 2, 8), 1, user="u1", region="us"),
    ev("c3", "tenant-c", datetime(2026, 10, 2, 9), 1, user="u2", region="eu"),
    # tenant-a in November: a separate billing period
    ev("a3", "tenant-a", datetime(2026, 11, 1, 0, 0, 1), "0.000000001"),
]


def period_rows(settings) -> dict[tuple, dict]:
    rows, _ = ServingReader(settings).query(
        "select tenant_id, meter_key, period_start, quantity, event_count, late_event_count "
        "from {fct_usage_period}"
    )
    return {(r["tenant_id"], r["meter_key"], r["period_start"].isoformat()): r for r in rows}


def test_each_aggregation_on_hand_made_cases_and_the_dbt_unit_tests(target_settings):
    seed_meters(target_settings)
    produce(target_settings, HAND_MADE + [HAND_MADE[0]])  # and one re-sent duplicate
    outcome = run_pipeline(target_settings)
    assert outcome.pending_periods == ["2026-10-01", "2026-11-01"]
    assert {"2026-10-01", "2026-11-01"} <= set(outcome.built_periods)
    p = period_rows(target_settings)
    october = {
        m: p[("tenant-a", m, "2026-10-01")]["quantity"]
        for m in ("calls", "value_sum", "value_max", "users", "value_latest")
    }
    assert october == {"calls": 2, "value_sum": 30, "value_max": 20, "users": 1, "value_latest": 20}
    assert p[("tenant-b", "value_latest", "2026-10-01")]["quantity"] == Decimal("5.25")
    assert p[("tenant-b", "value_sum", "2026-10-01")]["quantity"] == Decimal("12.25")
    assert p[("tenant-c", "users", "2026-10-01")]["quantity"] == 2
    assert p[("tenant-a", "value_sum", "2026-11-01")]["quantity"] == Decimal("0.000000001")

    daily, _ = ServingReader(target_settings).query(
        "select usage_date, quantity from {fct_usage_daily} "
        "where tenant_id = 'tenant-c' and meter_key = 'users' order by usage_date"
    )
    assert [(r["usage_date"], r["quantity"]) for r in daily] == [
        (date(2026, 10, 1), 1),
        (date(2026, 10, 2), 2),
    ]
    groups, _ = ServingReader(target_settings).query(
        "select group_key, quantity from {fct_usage_period_by_group} "
        "where tenant_id = 'tenant-c' and meter_key = 'calls' order by group_key"
    )
    assert [(r["group_key"], r["quantity"]) for r in groups] == [("region=eu", 1), ("region=us", 2)]

    # The YAML unit tests (aggregation, pricing, invoice and analytics rules on hand-made
    # inputs) on this target: they read column types from the models just built.
    done = run_dbt(target_settings, "dbt-unit", ["test", "--select", "test_type:unit"], timeout=300)
    passed = re.search(r"PASS=(\d+) WARN=0 ERROR=0", done.stdout)
    assert passed and int(passed.group(1)) >= 6, done.stdout[-2000:]


def test_a_single_count_meter_reads_no_properties(target_settings):
    # No meter reads a data property or groups by one: nothing to extract from the events.
    seed_meters(target_settings, meters=(replace(TEST_METERS[0], group_by=()),))
    produce(target_settings, HAND_MADE[:3])
    assert run_pipeline(target_settings).success
    p = period_rows(target_settings)
    assert p[("tenant-a", "calls", "2026-10-01")]["quantity"] == 2
    assert p[("tenant-b", "calls", "2026-10-01")]["quantity"] == 1


def test_late_events_and_incremental_rebuilds(target_settings, monkeypatch):
    seed_meters(target_settings)
    produce(target_settings, HAND_MADE)
    run_pipeline(target_settings)
    with Warehouse(target_settings).connection() as con:
        from billing.rules.periods import close_due_periods

        close_due_periods(con, datetime(2026, 11, 3), grace_hours=24)
    # A late October event for tenant-a, and nothing for November.
    produce(target_settings, [ev("a-late", "tenant-a", datetime(2026, 10, 30), 5, user="u9")])
    outcome = run_pipeline(target_settings)
    assert outcome.pending_periods == ["2026-10-01"]  # only the period that changed
    p = period_rows(target_settings)
    row = p[("tenant-a", "value_sum", "2026-10-01")]
    assert (row["quantity"], row["event_count"], row["late_event_count"]) == (35, 3, 1)
    assert p[("tenant-a", "users", "2026-10-01")]["quantity"] == 2
    assert p[("tenant-a", "value_latest", "2026-10-01")]["quantity"] == 5
    assert p[("tenant-a", "value_sum", "2026-11-01")]["quantity"] == Decimal("0.000000001")
    # Nothing new: the next run builds no period and the data stays put; its dbt builds run
    # as dbt processes (the pipeline runs them in its own process by default): the same marts.
    monkeypatch.setenv("BILLING_DBT_IN_PROCESS", "false")
    outcome = run_pipeline(target_settings)
    assert outcome.pending_periods == [] and [r.job for r in outcome.runs] == [
        "ingest_job",
        "billing_period_job",
    ]
    assert period_rows(target_settings) == p


def _normalise(rows: list[dict]) -> list[tuple]:
    out = []
    for row in rows:
        out.append(
            tuple(
                (k, v.normalize() if isinstance(v, Decimal) else v) for k, v in sorted(row.items())
            )
        )
    return sorted(out)


def test_duckdb_and_postgres_build_the_same_marts(make_settings, pg_database):
    duck = make_settings()
    pg = make_settings(warehouse_url=pg_database, usage_topic=duck.usage_topic)
    from adapters.kafka import produce_messages
    from adapters.synthetic.usage import SyntheticPlan, generate

    plan = SyntheticPlan(
        start=datetime(2026, 9, 20), end=datetime(2026, 11, 5), tenants=12, events=6000, seed=3
    )
    produce_messages(duck, generate(plan))
    from billing.rules.meters import DEMO_METERS

    for settings in (duck, pg):
        seed_meters(settings, DEMO_METERS)
        run_pipeline(settings)
    for table, columns in {
        "fct_usage_daily": "tenant_id, meter_key, usage_date, period_start, aggregation, "
        "quantity, unit, event_count, late_event_count, first_event_at, "
        "last_event_at",
        "fct_usage_period": "tenant_id, meter_key, period_start, period_end, aggregation, "
        "quantity, unit, event_count, late_event_count",
        "fct_usage_period_by_group": "tenant_id, meter_key, period_start, group_key, "
        "aggregation, quantity, event_count",
        "fct_dead_lettered_events": "kafka_partition, kafka_offset, reason_code, reason, payload",
        # the synthetic stream's bad `response_gb` values: counted for api_calls, not egress_gb
        "fct_usage_not_counted": "event_source, event_id, meter_key, reason_code, reason",
        "dim_meters": "meter_key, event_type, aggregation, value_property, unit, group_by_json",
    }.items():
        a, _ = ServingReader(duck).query(f"select {columns} from {{{table}}}")
        b, _ = ServingReader(pg).query(f"select {columns} from {{{table}}}")
        assert a, table
        assert _normalise(a) == _normalise(b), table
