"""Jobs shared by the sensors, the schedule and ``billing run``."""

from __future__ import annotations

import dagster as dg

from dagster_project.billing.assets import finalize_invoices
from dagster_project.control_plane.assets import control_plane_snapshot
from dagster_project.costs.assets import land_cost_files
from dagster_project.partitions import billing_periods
from dagster_project.serving.assets import serving_snapshot
from dagster_project.transform.assets import invoice_models, warehouse_models
from dagster_project.usage.assets import land_usage_events

# Steps run one after another in the run's process: the embedded DuckDB warehouse admits one
# writing process. On PostgreSQL, switch a job to the multiprocess (or a Kubernetes/Celery)
# executor in its run config.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(control_plane_snapshot, land_usage_events, land_cost_files),
    description="Snapshot the control plane, land new usage events and new cost files.",
    config=IN_PROCESS,
    tags={"billing/warehouse-writer": "true"},
)

billing_period_job = dg.define_asset_job(
    "billing_period_job",
    selection=dg.AssetSelection.assets(
        control_plane_snapshot,
        warehouse_models,
        finalize_invoices,
        invoice_models,
        serving_snapshot,
    ),
    partitions_def=billing_periods,
    description="Snapshot the control plane; rebuild the warehouse models (the usage, rating "
    "and draft invoice models of the run's billing periods, staging and the cloud cost models "
    "whole); finalize the periods whose grace has passed; build the invoice marts; publish the "
    "serving snapshot.",
    config=IN_PROCESS,
    tags={"billing/warehouse-writer": "true"},
)
