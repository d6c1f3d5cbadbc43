"""Assembles the code location; each domain module owns its assets, sensors and jobs."""

from __future__ import annotations

import dagster as dg

from dagster_project.alerts.sensors import warehouse_alerts_sensor
from dagster_project.billing.assets import finalize_invoices
from dagster_project.billing.sensors import invoice_void_sensor
from dagster_project.control_plane.assets import control_plane_snapshot
from dagster_project.costs.assets import land_cost_files
from dagster_project.costs.jobs import cost_files_job
from dagster_project.costs.sensors import cost_files_sensor
from dagster_project.jobs import billing_period_job, ingest_job
from dagster_project.payments.assets import collect_payments_job, invoice_payments
from dagster_project.payments.sensors import payment_collection_sensor, payment_retry_schedule
from dagster_project.reconciliation.assets import realtime_reconciliation, reconciliation_job
from dagster_project.reconciliation.sensors import reconciliation_sensor
from dagster_project.resources import BillingSettings
from dagster_project.schedules import open_periods_schedule
from dagster_project.serving.assets import serving_snapshot
from dagster_project.transform.assets import invoice_models, warehouse_models
from dagster_project.transform.project import dbt_resource
from dagster_project.usage.assets import land_usage_events
from dagster_project.usage.sensors import billing_period_sensor, usage_landing_sensor

defs = dg.Definitions(
    assets=[
        control_plane_snapshot,
        land_usage_events,
        warehouse_models,
        finalize_invoices,
        invoice_models,
        land_cost_files,
        serving_snapshot,
        realtime_reconciliation,
        invoice_payments,
    ],
    jobs=[ingest_job, billing_period_job, cost_files_job, reconciliation_job, collect_payments_job],
    sensors=[
        usage_landing_sensor,
        billing_period_sensor,
        invoice_void_sensor,
        cost_files_sensor,
        warehouse_alerts_sensor,
        reconciliation_sensor,
        payment_collection_sensor,
    ],
    schedules=[open_periods_schedule, payment_retry_schedule],
    resources={
        "dbt": dbt_resource(),
        "billing": BillingSettings(),
    },
    executor=dg.multi_or_in_process_executor,
)
