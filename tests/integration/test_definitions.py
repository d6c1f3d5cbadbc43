"""The Dagster code location loads and validates; sensors decide correctly."""

from __future__ import annotations

import dagster as dg

from dagster_project.definitions import defs
from dagster_project.resources import BillingSettings
from dagster_project.usage.sensors import (
    new_messages,
    period_run_requests,
    usage_landing_sensor,
)
from tests.conftest import cloud_event, produce, seed_meters


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "control_plane/control_meters",
        "landing/usage_events",
        "landing/usage_events_dead_letter",
        "staging/stg_landing__usage_events",
        "intermediate/int_usage_daily_partials",
        "marts/fct_usage_daily",
        "marts/fct_usage_period",
        "serving/snapshot",
    } <= keys
    graph = defs.resolve_asset_graph()
    # Lineage runs from Kafka to the serving snapshot.
    upstream = graph.get(dg.AssetKey(["marts", "fct_usage_period"])).parent_keys
    assert dg.AssetKey(["intermediate", "int_usage_daily_partials"]) in upstream
    assert (
        dg.AssetKey(["landing", "usage_events"])
        in graph.get(dg.AssetKey(["staging", "stg_landing__usage_events"])).parent_keys
    )
    # dbt tests are asset checks.
    checks = {c.name for c in graph.asset_check_keys}
    assert any("unique_combination_of_columns_fct_usage_period" in c for c in checks)
    for name in ("ingest_job", "billing_period_job", "cost_files_job"):
        assert defs.resolve_job_def(name)
    # A billing run starts two dbt processes: every model but the invoice marts (partitioned by
    # billing period), then, after finalization, the invoice marts.
    dbt_steps = {
        node.name
        for node in defs.resolve_job_def("billing_period_job").graph.nodes
        if node.name in ("warehouse_models", "invoice_models")
    }
    assert dbt_steps == {"warehouse_models", "invoice_models"}
    assert len(defs.resolve_job_def("billing_period_job").graph.nodes) == 5
    models = graph.get(dg.AssetKey(["marts", "fct_cost_allocations"]))
    assert models.partitions_def is not None  # built by the partitioned warehouse_models
    assert graph.get(dg.AssetKey(["marts", "fct_invoices"])).partitions_def is None
    assert {s.name for s in defs.sensors} == {
        "usage_landing_sensor",
        "billing_period_sensor",
        "invoice_void_sensor",
        "cost_files_sensor",
        "warehouse_alerts_sensor",
        "reconciliation_sensor",
        "payment_collection_sensor",
    }
    # Cloud costs: from the cost-files directory to the allocation marts; the allocation
    # invariants are asset checks.
    assert (
        dg.AssetKey(["cost_files", "cost_file_rows"])
        in graph.get(dg.AssetKey(["staging", "stg_cost_files__focus_lines"])).parent_keys
    )
    assert "assert_cost_allocations_tie_out" in checks


def test_analytics_marts_run_with_the_invoice_marts_and_are_served():
    from dagster_project.transform.assets import invoice_models

    graph = defs.resolve_asset_graph()
    analytics = [
        dg.AssetKey(["marts", name])
        for name in (
            "fct_subscription_mrr",
            "fct_mrr",
            "fct_mrr_movements",
            "fct_mrr_monthly",
            "fct_revenue_retention",
        )
    ]
    # In the invoice models' asset (built after finalization), downstream of the invoice marts.
    assert set(analytics) <= set(invoice_models.keys)
    upstream = graph.get(dg.AssetKey(["marts", "fct_subscription_mrr"])).parent_keys
    assert {
        dg.AssetKey(["marts", "fct_invoice_lines"]),
        dg.AssetKey(["marts", "fct_invoices"]),
        dg.AssetKey(["invoicing", "finalized_invoices"]),
    } <= upstream
    assert set(analytics) <= graph.get(dg.AssetKey(["serving", "snapshot"])).parent_keys
    # The MRR bridge is an asset check.
    assert "assert_mrr_movements_sum_to_mrr_change" in {c.name for c in graph.asset_check_keys}


def test_new_messages_compares_end_offsets_with_what_was_landed():
    landed = {"topic_id": "t1", "offsets": {"0": 10, "1": 5}}
    assert not new_messages({0: 10, 1: 5}, "t1", landed)
    assert new_messages({0: 11, 1: 5}, "t1", landed)
    assert new_messages({0: 3, 1: 0}, "t2", landed)  # the topic was recreated
    assert new_messages({0: 1}, "t1", None)
    assert not new_messages({0: 0}, "t1", None)


def test_period_requests_are_keyed_by_period_and_watermark():
    requests = period_run_requests(
        {"2026-10-01": 7, "2026-11-01": 9, "2019-01-01": 1}, "2026-11-01"
    )
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2026-10-01", "period-2026-10-01-batch-7"),
        ("2026-11-01", "period-2026-11-01-batch-9"),
    ]


def test_landing_sensor_requests_a_run_only_for_new_events(settings):
    seed_meters(settings)
    resources = {
        "billing": BillingSettings(
            kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
            usage_topic=settings.usage_topic,
            data_dir=str(settings.data_path),
        )
    }
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        assert isinstance(usage_landing_sensor(context), dg.SkipReason)
        produce(
            settings,
            [cloud_event("s-1", "tenant-a", "2026-10-01T00:00:00Z", {"value": 1, "user_id": "u"})],
        )
        request = usage_landing_sensor(
            dg.build_sensor_context(instance=instance, resources=resources)
        )
        assert isinstance(request, dg.RunRequest) and request.run_key.startswith("land-")
        from dagster_project.pipeline import run_pipeline

        assert run_pipeline(settings, instance).success
        skip = usage_landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert isinstance(skip, dg.SkipReason) and "no new events" in skip.skip_message


def test_the_dbt_resource_knows_the_installed_dbt_version_without_asking_it():
    import re
    import subprocess

    from dagster_project.transform.project import dbt_executable, dbt_resource

    asked = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True)
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", asked.stdout).group(1)
    assert str(dbt_resource()._cli_version) == installed
