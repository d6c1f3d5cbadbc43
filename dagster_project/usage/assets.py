"""Usage assets: land events from Kafka.

Asset keys match the dbt sources they feed (``control_plane/...``, ``landing/...``) so the
graph shows one lineage from Kafka to the marts.
"""

import dagster as dg

from adapters.warehouse.connection import Warehouse
from dagster_project.control_plane.assets import CONTROL_METERS
from dagster_project.resources import BillingSettings
from ingestion.landing import UsageLander
from ingestion.landing_store import load_meters

USAGE_EVENTS = dg.AssetKey(["landing", "usage_events"])
DEAD_LETTERS = dg.AssetKey(["landing", "usage_events_dead_letter"])
NOT_COUNTED = dg.AssetKey(["landing", "usage_not_counted"])
WATERMARKS = dg.AssetKey(["landing", "usage_period_watermarks"])
NO_METERS = "usage: no meters defined, usage landing skipped"


def _landing_spec(key: dg.AssetKey, description: str, **attributes) -> dg.AssetSpec:
    """A landing table the usage landing writes, after the meters it validates against."""
    return dg.AssetSpec(
        key, description=description, group_name="landing", deps=[CONTROL_METERS], **attributes
    )


@dg.multi_asset(
    specs=[
        _landing_spec(
            USAGE_EVENTS,
            "Usage CloudEvents landed exactly once from Kafka (raw.usage_events).",
            kinds={"kafka"},
        ),
        _landing_spec(
            DEAD_LETTERS,
            "Rejected messages with payload and reason (raw.usage_events_dead_letter).",
            kinds={"kafka"},
        ),
        _landing_spec(
            NOT_COUNTED,
            "Landed events not counted for one meter of their type, with the reason "
            "(raw.usage_not_counted).",
            kinds={"kafka"},
        ),
        _landing_spec(
            WATERMARKS, "Newest landing batch per billing period (raw.usage_period_watermarks)."
        ),
    ],
    name="land_usage_events",
)
def land_usage_events(context: dg.AssetExecutionContext, billing: BillingSettings):
    """Consume everything new on the usage topic; each batch commits rows and offsets together.

    Without meters (a cost-only deployment) nothing is consumed, not even the broker asked:
    one line says so and the cost pipeline runs on."""
    settings = billing.get()
    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    with warehouse.connection() as con:
        has_meters = bool(load_meters(con))
    if not has_meters:
        context.log.info(NO_METERS)
        for key in (USAGE_EVENTS, DEAD_LETTERS, NOT_COUNTED, WATERMARKS):
            yield dg.MaterializeResult(
                asset_key=key, metadata={"skipped": dg.MetadataValue.text(NO_METERS)}
            )
        return
    result = UsageLander(settings).run()
    summary = result.summary()
    context.log.info(f"landing summary: {summary}")
    shared = {
        "periods_pending_build": dg.MetadataValue.json(result.pending_periods_with_watermarks()),
        "next_offsets": dg.MetadataValue.json(
            {
                "topic_id": result.topic_id,
                "offsets": {str(k): v for k, v in result.next_offsets.items()},
            }
        ),
    }
    yield dg.MaterializeResult(
        asset_key=USAGE_EVENTS,
        metadata={
            **shared,
            "messages": dg.MetadataValue.int(result.total("messages")),
            "landed": dg.MetadataValue.int(result.total("landed")),
            "duplicates": dg.MetadataValue.int(result.total("duplicates")),
            "late": dg.MetadataValue.int(result.total("late")),
            "batches": dg.MetadataValue.int(len(result.batches)),
            "periods_touched": dg.MetadataValue.json(summary["periods_touched"]),
        },
    )
    yield dg.MaterializeResult(
        asset_key=DEAD_LETTERS,
        metadata={
            "dead_lettered": dg.MetadataValue.int(result.total("dead_lettered")),
            "reasons": dg.MetadataValue.json(result.dead_letter_reasons),
        },
    )
    yield dg.MaterializeResult(
        asset_key=NOT_COUNTED,
        metadata={"not_counted": dg.MetadataValue.int(result.total("not_counted"))},
    )
    yield dg.MaterializeResult(asset_key=WATERMARKS, metadata=shared)
