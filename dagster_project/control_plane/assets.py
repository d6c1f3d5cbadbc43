"""Snapshot the control plane (API-managed records) into the warehouse before every build.

Each table lands as ``raw.control_<table>`` (the current state, replaced in one transaction);
dbt snapshots keep their history (``snapshots`` schema) and dbt rates every period with the
effective-dated records (plan versions, subscription phases).
"""

import dagster as dg

from adapters.warehouse.connection import Warehouse
from adapters.warehouse.control_snapshot import snapshot_tables
from billing.control_plane.db import get_engine
from billing.control_plane.models import (
    CostAllocationRule,
    CostAllocationTarget,
    CostCenter,
    Coupon,
    CouponRedemption,
    CreditGrant,
    InvoiceVoid,
    Meter,
    Plan,
    PlanCharge,
    PlanChargeTier,
    Subscription,
    SubscriptionPhase,
    TaxRate,
    Tenant,
    TenantCostCenter,
    TenantTaxRate,
)
from dagster_project.resources import BillingSettings

# Control-plane tables copied into the warehouse. API keys are deliberately not copied.
SNAPSHOT_TABLES = tuple(
    model.__table__
    for model in (
        Meter,
        Plan,
        PlanCharge,
        PlanChargeTier,
        Subscription,
        SubscriptionPhase,
        Coupon,
        CouponRedemption,
        Tenant,
        TaxRate,
        TenantTaxRate,
        CreditGrant,
        InvoiceVoid,
        CostCenter,
        CostAllocationRule,
        CostAllocationTarget,
        TenantCostCenter,
    )
)


def control_key(table_name: str) -> dg.AssetKey:
    return dg.AssetKey(["control_plane", f"control_{table_name}"])


CONTROL_METERS = control_key("meters")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            control_key(t.name),
            description=f"Copy of the control-plane table `{t.name}` (raw.control_{t.name}).",
            group_name="control_plane",
            kinds={"sqlalchemy"},
        )
        for t in SNAPSHOT_TABLES
    ],
    name="control_plane_snapshot",
)
def control_plane_snapshot(context: dg.AssetExecutionContext, billing: BillingSettings):
    """Copy the API-managed records into the warehouse so dbt rates with exactly them."""
    settings = billing.get()
    counts = snapshot_tables(get_engine(settings), SNAPSHOT_TABLES, Warehouse(settings))
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=control_key(table), metadata={"rows": dg.MetadataValue.int(rows)}
        )
