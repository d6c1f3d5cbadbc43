"""Trigger collection when new invoices are published, and retry failed payments hourly."""

from __future__ import annotations

import dagster as dg

from dagster_project.payments.assets import (
    COLLECTION_OFF,
    SERVING_SNAPSHOT,
    collect_payments_job,
)
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_schedule, running_sensor


@running_sensor(
    "Requests a collection run for each newly published serving snapshot (which "
    "carries the newly finalized invoices, their checks passed).",
    every_seconds=30,
    job=collect_payments_job,
)
def payment_collection_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    # Reads Dagster's event log only: never the warehouse, never Stripe.
    if not billing.get().stripe_enabled:
        return dg.SkipReason(COLLECTION_OFF)
    records = context.instance.fetch_materializations(SERVING_SNAPSHOT, limit=1).records
    if not records:
        return dg.SkipReason("no serving snapshot published yet")
    storage_id = str(records[0].storage_id)
    if context.cursor == storage_id:
        return dg.SkipReason("no new invoices published since the last collection")
    context.update_cursor(storage_id)
    return dg.RunRequest(run_key=f"collect-{storage_id}")


@running_schedule(
    "Hourly: retry failed payments whose backoff has elapsed (and recover or "
    "reconcile interrupted attempts).",
    cron="15 * * * *",
    job=collect_payments_job,
)
def payment_retry_schedule(context: dg.ScheduleEvaluationContext, billing: BillingSettings):
    if not billing.get().stripe_enabled:
        return dg.SkipReason(COLLECTION_OFF)
    stamp = context.scheduled_execution_time.strftime("%Y%m%dT%H")
    return dg.RunRequest(run_key=f"retry-{stamp}")
