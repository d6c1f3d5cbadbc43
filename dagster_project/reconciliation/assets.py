"""Reconciliation of the real-time consumer's totals with the warehouse's period mart."""

import dagster as dg

from adapters.warehouse.serving import ServingReader
from billing.control_plane.db import migrate
from billing.rules.events import utc_now
from billing.services.reconciliation import reconcile_caught_up
from dagster_project.resources import BillingSettings

RECONCILIATION_KEY = dg.AssetKey(["realtime", "reconciliation"])


class ReconciliationConfig(dg.Config):
    include_open_periods: bool = False  # open periods drift while the pipeline catches up


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
    try:
        outcome = reconcile_caught_up(
            settings, reader, utc_now(), include_open=config.include_open_periods
        )
    finally:
        reader.close()
    run_id, compared, snapshot = outcome.run_id, outcome.compared, outcome.snapshot
    periods, drifts = outcome.periods, outcome.drifts
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
