"""Warehouse-driven alerts and reconciliation, both triggered by a new serving snapshot.

The sensors read marts only through the serving snapshot (never the warehouse file) and write
the control plane. Alerts fire through the same insert-if-absent as the real-time consumer's,
so a crossing either path saw first is never fired again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import dagster as dg

from adapters.warehouse.serving import MissingTable, NoSnapshot, ServingReader
from billing.control_plane.db import migrate, session_scope
from billing.rules.alerts import period_bounds
from billing.rules.events import utc_now
from billing.services.alerts import AlertRules, evaluate_cost_center_budgets, evaluate_usage
from billing.settings import Settings
from dagster_project.reconciliation.assets import reconciliation_job
from dagster_project.resources import BillingSettings

SOURCE = "warehouse"


def recent_periods(now: datetime) -> tuple[date, date]:
    """The current period and the previous one: older crossings are history, not alerts."""
    current = period_bounds(now)[0]
    previous = period_bounds(datetime(current.year, current.month, 1) - timedelta(days=1))[0]
    return previous, current


def fire_from_snapshot(settings: Settings, reader: ServingReader, now: datetime) -> list[int]:
    """Fire every quota threshold and milestone reached in the snapshot's period usage, and
    every cost-center budget threshold reached by its allocated cloud cost."""
    previous, current = recent_periods(now)
    rows, _ = reader.query(
        "select tenant_id, meter_key, period_start, quantity from {fct_usage_period} "
        "where period_start >= :since order by period_start, tenant_id, meter_key",
        {"since": previous},
    )
    try:
        cost_centers, _ = reader.query(
            "select billing_period_start, currency, cost_center_code, rolled_up_total_amount, "
            "monthly_budget_amount, budget_currency from {fct_cost_center_costs} "
            "where billing_period_start >= :since and monthly_budget_amount is not null",
            {"since": previous},
        )
    except MissingTable:  # a snapshot published before cost allocation existed
        cost_centers = []
    fired: list[int] = []
    with session_scope(settings) as session:
        fired += evaluate_cost_center_budgets(session, cost_centers, SOURCE, now)
        rules = AlertRules.load(session)
        for r in rows:
            period = r["period_start"]
            period = period if isinstance(period, date) else date.fromisoformat(str(period))
            fired += evaluate_usage(
                session,
                rules,
                r["tenant_id"],
                r["meter_key"],
                period,
                Decimal(str(r["quantity"])),
                SOURCE,
                now,
            )
    return fired


def _snapshot_name(reader: ServingReader) -> str | None:
    try:
        return reader.snapshot().name
    except NoSnapshot:
        return None


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fires quota and milestone alerts from the warehouse's period usage, and "
    "cost-center budget alerts from the allocated cloud cost, for each new serving snapshot "
    "(crossings already fired by the real-time consumer are skipped).",
)
def warehouse_alerts_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    settings = billing.get()
    reader = ServingReader(settings)
    try:
        name = _snapshot_name(reader)
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


@dg.sensor(
    job=reconciliation_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a reconciliation of the real-time totals for each new serving snapshot.",
)
def reconciliation_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    reader = ServingReader(billing.get())
    try:
        name = _snapshot_name(reader)
    finally:
        reader.close()
    if name is None:
        return dg.SkipReason("no serving snapshot yet")
    if name == context.cursor:
        return dg.SkipReason(f"snapshot {name} already reconciled")
    context.update_cursor(name)
    return dg.RunRequest(run_key=f"reconcile-{name}")
