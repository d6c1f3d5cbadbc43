"""Snapshot the control plane (API-managed records) into the warehouse before every build.

Each table lands as ``raw.control_<table>`` (the current state, replaced in one transaction);
dbt snapshots keep their history (``snapshots`` schema) and dbt rates every period with the
effective-dated records (plan versions, subscription phases).
"""

import dagster as dg

from adapters.warehouse.control_snapshot import SNAPSHOT_TABLES, snapshot_control_plane
from dagster_project.resources import BillingSettings


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
    counts = snapshot_control_plane(settings)
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=control_key(table), metadata={"rows": dg.MetadataValue.int(rows)}
        )
