"""Reconciliation of the real-time totals, requested for each new serving snapshot."""

from __future__ import annotations

import dagster as dg

from adapters.warehouse.serving import ServingReader, current_snapshot_name
from dagster_project.reconciliation.assets import reconciliation_job
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_sensor


@running_sensor(
    "Requests a reconciliation of the real-time totals for each new serving snapshot.",
    every_seconds=60,
    job=reconciliation_job,
)
def reconciliation_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    reader = ServingReader(billing.get())
    try:
        name = current_snapshot_name(reader)
    finally:
        reader.close()
    if name is None:
        return dg.SkipReason("no serving snapshot yet")
    if name == context.cursor:
        return dg.SkipReason(f"snapshot {name} already reconciled")
    context.update_cursor(name)
    return dg.RunRequest(run_key=f"reconcile-{name}")
