"""Reconciliation of the real-time consumer's totals with the warehouse's period mart."""

from datetime import date

import dagster as dg

from api.db import migrate, session_scope
from api.reconciliation import reconcile
from dagster_project.resources import BillingSettings
from ingestion.events import utc_now
from ingestion.periods import closes_at
from ingestion.serving import ServingReader

RECONCILIATION_KEY = dg.AssetKey(["realtime", "reconciliation"])


class ReconciliationConfig(dg.Config):
    include_open_periods: bool = False  # open periods drift while the pipeline catches up


def periods_to_reconcile(
    periods: list[date], now, grace_hours: int, include_open: bool
) -> list[date]:
    """Closed periods (end + grace passed): the real-time figures and the warehouse have both
    seen every event of them. Open periods only on request."""
    return [p for p in periods if include_open or closes_at(p, grace_hours) <= now]


@dg.asset(
    key=RECONCILIATION_KEY,
    deps=[dg.AssetKey(["serving", "snapshot"])],
    group_name="realtime",
    description="Compares the real-time totals (control plane) with marts.fct_usage_period from "
    "the serving snapshot per tenant, meter and period; stores and reports every drift.",
    check_specs=[
        dg.AssetCheckSpec(
            "realtime_matches_warehouse",
            asset=RECONCILIATION_KEY,
            description="No drift between real-time totals and the warehouse in closed periods.",
        )
    ],
)
def realtime_reconciliation(
    context: dg.AssetExecutionContext, config: ReconciliationConfig, billing: BillingSettings
):
    settings = billing.get()
    migrate(settings)
    reader = ServingReader(settings)
    now = utc_now()
    try:
        rows, _ = reader.query("select distinct period_start from {fct_usage_period}")
        periods = periods_to_reconcile(
            sorted(r["period_start"] for r in rows),
            now,
            settings.grace_period_hours,
            config.include_open_periods,
        )
        with session_scope(settings) as session:
            run, drifts = reconcile(session, reader, now, periods)
            run_id, compared, snapshot = run.id, run.compared, run.snapshot
    finally:
        reader.close()
    context.log.info(f"reconciled {compared} totals of {len(periods)} periods: {len(drifts)} drift")
    sample = [
        {
            "tenant_id": d.tenant_id,
            "meter": d.meter_key,
            "period_start": d.period_start.isoformat(),
            "realtime": str(d.realtime_quantity),
            "warehouse": str(d.warehouse_quantity),
        }
        for d in drifts[:20]
    ]
    yield dg.MaterializeResult(
        metadata={
            "reconciliation_run_id": run_id,
            "snapshot": snapshot,
            "periods": dg.MetadataValue.json([p.isoformat() for p in periods]),
            "compared": compared,
            "drifted": len(drifts),
            "drifts": dg.MetadataValue.json(sample),
        }
    )
    yield dg.AssetCheckResult(
        check_name="realtime_matches_warehouse",
        passed=not drifts,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drifted": len(drifts), "drifts": dg.MetadataValue.json(sample)},
    )


reconciliation_job = dg.define_asset_job(
    "realtime_reconciliation_job",
    selection=dg.AssetSelection.assets(realtime_reconciliation),
    description="Compare real-time totals with the warehouse and record any drift.",
)
