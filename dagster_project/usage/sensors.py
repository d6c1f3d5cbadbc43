"""Sensors that keep usage flowing: land new events, then rebuild the periods they touched.

Neither sensor opens the warehouse (the embedded DuckDB file admits one writing process and a
run may hold it); they read Kafka and Dagster's own event log.
"""

import hashlib
import json
from datetime import date

import dagster as dg

from adapters.kafka import KafkaUnavailable, topic_state
from dagster_project.jobs import billing_period_job, ingest_job
from dagster_project.partitions import billing_periods, period_key
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_sensor
from dagster_project.usage.assets import USAGE_EVENTS

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def new_messages(end_offsets: dict[int, int], topic_id: str | None, landed: dict | None) -> bool:
    """Whether the topic holds messages the last landing run had not read."""
    if not landed:
        return any(end > 0 for end in end_offsets.values())
    if topic_id and landed.get("topic_id") and topic_id != landed["topic_id"]:
        return any(end > 0 for end in end_offsets.values())
    offsets = {int(k): v for k, v in (landed.get("offsets") or {}).items()}
    return any(end > offsets.get(p, 0) for p, end in end_offsets.items())


def landing_run_key(topic_id: str | None, end_offsets: dict[int, int]) -> str:
    digest = hashlib.sha256(
        json.dumps([topic_id, sorted(end_offsets.items())]).encode()
    ).hexdigest()[:16]
    return f"land-{digest}"


@running_sensor(
    "Requests a landing run when the usage topic has messages not landed yet.",
    every_seconds=30,
    job=ingest_job,
)
def usage_landing_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    settings = billing.get()
    if context.instance.get_run_ids(
        dg.RunsFilter(job_name=ingest_job.name, statuses=IN_FLIGHT), limit=1
    ):
        return dg.SkipReason("a landing run is already queued or running")
    try:
        state = topic_state(settings, settings.usage_topic)
    except KafkaUnavailable as exc:
        return dg.SkipReason(f"Kafka is unreachable: {exc}")
    event = context.instance.get_latest_materialization_event(USAGE_EVENTS)
    landed = None
    if event is not None and event.asset_materialization is not None:
        value = event.asset_materialization.metadata.get("next_offsets")
        landed = value.value if value is not None else None
    if not new_messages(state.end_offsets, state.topic_id, landed):
        return dg.SkipReason(f"no new events on {settings.usage_topic}")
    return dg.RunRequest(run_key=landing_run_key(state.topic_id, state.end_offsets))


def period_run_requests(pending: dict[str, int], last_key: str | None) -> list[dg.RunRequest]:
    """One run per billing period with new events; the key makes a repeat a no-op."""
    requests = []
    for period, watermark in sorted(pending.items()):
        key = period_key(date.fromisoformat(period))
        if key < billing_periods.start.strftime("%Y-%m-%d") or (last_key and key > last_key):
            continue
        requests.append(dg.RunRequest(run_key=f"period-{key}-batch-{watermark}", partition_key=key))
    return requests


@dg.asset_sensor(
    asset_key=USAGE_EVENTS,
    job=billing_period_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each landing, rebuilds the billing periods that received events.",
)
def billing_period_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    materialization = asset_event.asset_materialization
    value = materialization.metadata.get("periods_pending_build") if materialization else None
    pending = value.value if value is not None else {}
    requests = period_run_requests(pending, billing_periods.get_last_partition_key())
    if not requests:
        return dg.SkipReason("the landing touched no billing period")
    return requests
