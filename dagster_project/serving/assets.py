"""Publish the marts as an immutable serving snapshot and point the API at it."""

import dagster as dg

from adapters.warehouse.serving import publish_snapshot
from dagster_project.resources import BillingSettings
from dagster_project.transform.assets import DBT_ASSETS

MART_KEYS = sorted(
    {key for assets_def in DBT_ASSETS for key in assets_def.keys if key.path[0] == "marts"},
    key=lambda k: k.to_user_string(),
)


@dg.asset(
    key=dg.AssetKey(["serving", "snapshot"]),
    deps=MART_KEYS,
    group_name="serving",
    description="Every table of the marts schema copied into a new snapshot that the API "
    "switches to atomically; the API never reads a half-built run.",
)
def serving_snapshot(context: dg.AssetExecutionContext, billing: BillingSettings):
    info = publish_snapshot(billing.get(), run_id=context.run_id)
    context.log.info(f"published serving snapshot {info.name} with {len(info.tables)} tables")
    return dg.MaterializeResult(
        metadata={
            "snapshot": info.name,
            "tables": dg.MetadataValue.json(list(info.tables)),
            "published_at": info.published_at.isoformat(),
        }
    )
