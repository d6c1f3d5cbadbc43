"""Warehouse-driven alerts, triggered by a new serving snapshot.

The sensors read marts only through the serving snapshot (never the warehouse file) and write
the control plane. Alerts fire through the same insert-if-absent as the real-time consumer's,
so a crossing either path saw first is never fired again.
"""

from __future__ import annotations

import dagster as dg

from adapters.warehouse.serving import ServingReader, current_snapshot_name
from billing.control_plane.db import migrate
from billing.rules.events import utc_now
from billing.services.alerts import fire_from_snapshot
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_sensor


@running_sensor(
    "Fires quota and milestone alerts from the warehouse's period usage, and "
    "cost-center budget alerts from the allocated cloud cost, for each new serving snapshot "
    "(crossings already fired by the real-time consumer are skipped).",
    every_seconds=30,
)
def warehouse_alerts_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    settings = billing.get()
    reader = ServingReader(settings)
    try:
        name = current_snapshot_name(reader)
        if name is None:
            return dg.SkipReason("no serving snapshot yet")
        if name == context.cursor:
            return dg.SkipReason(f"snapshot {name} already evaluated")
        migrate(settings)
        fired = fire_from_snapshot(settings, reader, utc_now())
    finally:
        reader.close()
    context.update_cursor(name)
    return dg.SkipReason(f"snapshot {name}: {len(fired)} new alert(s) fired")
