"""Usage assets: snapshot the control plane, land events from Kafka, close billing periods.

Asset keys match the dbt sources they feed (``control_plane/...``, ``landing/...``) so the
graph shows one lineage from Kafka to the marts.
"""

import dagster as dg

from api.db import get_engine
from api.models import Meter
from dagster_project.resources import BillingSettings
from ingestion.control_snapshot import snapshot_tables
from ingestion.events import utc_now
from ingestion.landing import UsageLander
from ingestion.periods import close_due_periods
from ingestion.warehouse import Warehouse

# Control-plane tables copied into the warehouse. API keys are deliberately not copied.
SNAPSHOT_TABLES = (Meter.__table__,)

CONTROL_METERS = dg.AssetKey(["control_plane", "control_meters"])
USAGE_EVENTS = dg.AssetKey(["landing", "usage_events"])
DEAD_LETTERS = dg.AssetKey(["landing", "usage_events_dead_letter"])
WATERMARKS = dg.AssetKey(["landing", "usage_period_watermarks"])
CLOSED_PERIODS = dg.AssetKey(["landing", "closed_billing_periods"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dg.AssetKey(["control_plane", f"control_{t.name}"]),
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
            asset_key=dg.AssetKey(["control_plane", f"control_{table}"]),
            metadata={"rows": dg.MetadataValue.int(rows)},
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            USAGE_EVENTS,
            description="Usage CloudEvents landed exactly once from Kafka (raw.usage_events).",
            group_name="landing",
            deps=[CONTROL_METERS],
            kinds={"kafka"},
        ),
        dg.AssetSpec(
            DEAD_LETTERS,
            description="Rejected messages with payload and reason (raw.usage_events_dead_letter).",
            group_name="landing",
            deps=[CONTROL_METERS],
            kinds={"kafka"},
        ),
        dg.AssetSpec(
            WATERMARKS,
            description="Newest landing batch per billing period (raw.usage_period_watermarks).",
            group_name="landing",
            deps=[CONTROL_METERS],
        ),
    ],
    name="land_usage_events",
)
def land_usage_events(context: dg.AssetExecutionContext, billing: BillingSettings):
    """Consume everything new on the usage topic; each batch commits rows and offsets together."""
    settings = billing.get()
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
    yield dg.MaterializeResult(asset_key=WATERMARKS, metadata=shared)


@dg.asset(
    key=CLOSED_PERIODS,
    deps=[USAGE_EVENTS],
    group_name="landing",
    description="Billing periods closed after their grace period (raw.closed_billing_periods). "
    "Events landing later for a closed period are flagged late.",
)
def closed_billing_periods(context: dg.AssetExecutionContext, billing: BillingSettings):
    settings = billing.get()
    with Warehouse(settings).connection() as con:
        closed = close_due_periods(con, utc_now(), settings.grace_period_hours)
    if closed:
        context.log.info(f"closed billing periods: {[p.isoformat() for p in closed]}")
    return dg.MaterializeResult(
        metadata={"newly_closed": dg.MetadataValue.json([p.isoformat() for p in closed])}
    )
