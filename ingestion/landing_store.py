"""The warehouse side of landing: one batch written in one transaction (events, not-counted
pairs, dead letters, offsets, period watermarks, the batch record), the stored offsets and where
each partition resumes, and the per-period build watermarks the pipeline reads.

Offsets are checked optimistically (``update ... where next_offset = :expected``) so two landers
that accidentally read the same partitions cannot both commit the same batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson

from adapters.kafka import TopicState
from adapters.warehouse.connection import WarehouseConnection
from billing.rules.events import utc_now
from billing.rules.meters import Aggregation, Meter
from ingestion.landing_batches import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    NOT_COUNTED_COLUMNS,
    Batch,
    Prepared,
)

log = logging.getLogger(__name__)


class LandingError(RuntimeError):
    """Landing cannot proceed safely; nothing of the failing batch was written."""


class ConcurrentLandingError(LandingError):
    """Another lander advanced the same partition's offset; this batch was rolled back."""


@dataclass
class BatchStats:
    landing_batch_id: int
    messages: int = 0
    landed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    not_counted: int = 0  # (event, meter) pairs of landed events not counted for that meter
    late: int = 0
    periods: set[date] = field(default_factory=set)


def load_meters(con: WarehouseConnection) -> list[Meter]:
    """Active meters from the control-plane snapshot in the warehouse."""
    if not con.table_exists("raw", "control_meters"):
        return []
    rows = con.fetchall(
        "select key, event_type, aggregation, value_property, unit, group_by, name "
        "from raw.control_meters where archived_at is null order by key"
    )
    return [
        Meter(
            key=r[0],
            event_type=r[1],
            aggregation=Aggregation(r[2]),
            value_property=r[3],
            unit=r[4],
            group_by=tuple(orjson.loads(r[5]) if r[5] else ()),
            name=r[6] or "",
        )
        for r in rows
    ]


def pending_periods(con: WarehouseConnection) -> dict[date, int]:
    """Periods with events landed since their last successful build, with their watermark."""
    rows = con.fetchall(
        "select w.period_start, w.last_landing_batch_id from raw.usage_period_watermarks w "
        "left join raw.usage_period_builds b on b.period_start = w.period_start "
        "where b.period_start is null or w.last_landing_batch_id > b.built_through_batch_id "
        "order by w.period_start"
    )
    return {r[0]: r[1] for r in rows}


def period_build_watermark(con: WarehouseConnection, period: date) -> int | None:
    row = con.fetchone(
        "select last_landing_batch_id from raw.usage_period_watermarks where period_start = :p",
        {"p": period},
    )
    return row[0] if row else None


def mark_period_built(con: WarehouseConnection, period: date, through_batch_id: int) -> None:
    """Record that ``period`` was built from everything landed up to ``through_batch_id``."""
    with con.transaction():
        con.execute(
            "insert into raw.usage_period_builds (period_start, built_through_batch_id, built_at) "
            "values (:p, :b, :now) on conflict (period_start) do update set "
            "built_through_batch_id = greatest(raw.usage_period_builds.built_through_batch_id, "
            "excluded.built_through_batch_id), built_at = excluded.built_at",
            {"p": period, "b": through_batch_id, "now": utc_now()},
        )


def stored_offsets(con: WarehouseConnection, consumer: str, topic: str) -> dict[int, tuple]:
    rows = con.fetchall(
        "select kafka_partition, next_offset, topic_id from raw.kafka_offsets "
        "where consumer_name = :c and topic = :t",
        {"c": consumer, "t": topic},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def plan_start_offsets(
    state: TopicState, stored: dict[int, tuple[int, str | None]]
) -> tuple[dict[int, int], dict[int, int | None]]:
    """Where to start each partition, and the offset expected in the store (None: no row yet).

    A changed topic id means the topic was recreated (always the case when the memory-only
    embedded broker restarts): its messages are new, so reading starts at its beginning.
    """
    start: dict[int, int] = {}
    expected: dict[int, int | None] = {}
    for p in state.partitions:
        if p.partition not in stored:
            start[p.partition], expected[p.partition] = p.low, None
            continue
        next_offset, topic_id = stored[p.partition]
        expected[p.partition] = next_offset
        if topic_id and state.topic_id and topic_id != state.topic_id:
            log.warning(
                "topic %s was recreated (id %s -> %s); landing partition %s from offset %s",
                state.topic,
                topic_id,
                state.topic_id,
                p.partition,
                p.low,
            )
            start[p.partition] = p.low
        elif next_offset < p.low:
            raise LandingError(
                f"partition {p.partition} of {state.topic}: offsets {next_offset}..{p.low - 1} "
                "were deleted by retention before they were landed; refusing to skip them"
            )
        else:
            start[p.partition] = next_offset
    return start, expected


def write_batch(
    con: WarehouseConnection,
    batch: Batch,
    prepared: Prepared,
    expected: dict[int, int | None],
    state: TopicState,
    *,
    consumer_name: str,
    clock: Callable[[], datetime] = utc_now,
    before_commit: Callable[[BatchStats], None] | None = None,
) -> BatchStats:
    """Write one batch and advance its partitions' offsets, all in one warehouse transaction."""
    topic = state.topic
    started_at = clock()
    landed_rows: list[tuple] = []
    valid = prepared.events.num_rows
    with con.transaction():
        if con.kind == "postgres":
            con.execute("lock table raw.closed_billing_periods in share mode")
        batch_id = con.fetchone("select nextval('raw.landing_batch_seq')")[0]
        stats = BatchStats(batch_id, messages=len(batch))
        landed_at = clock()
        params = {"batch": batch_id, "landed_at": landed_at, "topic": topic}
        if valid:
            con.load_temp_table("landing_events", EVENT_COLUMNS, prepared.events)
            # The first copy of an id within the batch wins; earlier batches win over it.
            landed_rows = con.fetchall(
                """insert into raw.usage_events (
                    source, event_id, spec_version, event_type, tenant_id, event_at,
                    period_start, data, extensions, kafka_topic, kafka_partition,
                    kafka_offset, landing_batch_id, landed_at, is_late)
                select b.source, b.event_id, b.spec_version, b.event_type, b.tenant_id,
                    b.event_at, b.period_start, b.data, b.extensions, :topic,
                    b.kafka_partition, b.kafka_offset, :batch, :landed_at,
                    c.period_start is not null
                from (
                    select *,
                        cast(date_trunc('month', event_at) as date) as period_start,
                        row_number() over (
                            partition by source, event_id order by seq) as copy_number
                    from landing_events
                ) b
                left join raw.closed_billing_periods c on c.period_start = b.period_start
                where b.copy_number = 1
                on conflict (source, event_id) do nothing
                returning period_start, is_late""",
                params,
            )
        if prepared.not_counted.num_rows:
            # Only for the copies that landed now: a re-delivered id keeps its first verdict.
            con.load_temp_table("landing_not_counted", NOT_COUNTED_COLUMNS, prepared.not_counted)
            stats.not_counted = len(
                con.fetchall(
                    """insert into raw.usage_not_counted (
                        source, event_id, meter_key, reason_code, reason, tenant_id,
                        event_type, event_at, period_start, landing_batch_id, recorded_at)
                    select e.source, e.event_id, n.meter_key, n.reason_code, n.reason,
                        e.tenant_id, e.event_type, e.event_at, e.period_start, :batch,
                        :landed_at
                    from landing_not_counted n
                    inner join raw.usage_events e
                        on e.source = n.source and e.event_id = n.event_id
                        and e.landing_batch_id = :batch
                        and e.kafka_partition = n.kafka_partition
                        and e.kafka_offset = n.kafka_offset
                    on conflict (source, event_id, meter_key) do nothing
                    returning meter_key""",
                    params,
                )
            )
        stats.landed = len(landed_rows)
        stats.duplicates = valid - stats.landed
        stats.late = sum(1 for _, late in landed_rows if late)
        stats.periods = {p for p, _ in landed_rows}
        if prepared.dead["kafka_offset"]:
            con.load_temp_table("landing_dead_letters", DEAD_LETTER_COLUMNS, prepared.dead)
            con.execute(
                """insert into raw.usage_events_dead_letter (
                    kafka_topic, kafka_partition, kafka_offset, kafka_key, kafka_timestamp,
                    payload, payload_encoding, reason_code, reason, landing_batch_id,
                    dead_lettered_at)
                select :topic, kafka_partition, kafka_offset, kafka_key, kafka_timestamp,
                    payload, payload_encoding, reason_code, reason, :batch, :landed_at
                from landing_dead_letters
                on conflict (kafka_topic, kafka_partition, kafka_offset) do nothing""",
                params,
            )
        stats.dead_lettered = len(prepared.dead["kafka_offset"])
        for partition, next_offset in sorted(batch.next_offsets.items()):
            advance_offset(
                con,
                consumer_name,
                partition,
                next_offset,
                expected.get(partition),
                state,
                batch_id,
                landed_at,
            )
        for period in sorted(stats.periods):
            con.execute(
                "insert into raw.usage_period_watermarks (period_start, last_landing_batch_id, "
                "last_landed_at) values (:p, :batch, :landed_at) on conflict (period_start) "
                "do update set last_landing_batch_id = excluded.last_landing_batch_id, "
                "last_landed_at = excluded.last_landed_at",
                {"p": period, **params},
            )
        import pyarrow.compute as pc

        event_times = prepared.events.column("event_at")
        con.execute(
            "insert into raw.landing_batches (landing_batch_id, consumer_name, topic, "
            "started_at, committed_at, messages, landed, duplicates, dead_lettered, late, "
            "min_event_at, max_event_at) values (:batch, :consumer, :topic, :started, "
            ":landed_at, :messages, :landed, :duplicates, :dead, :late, :min_at, :max_at)",
            {
                **params,
                "consumer": consumer_name,
                "started": started_at,
                "messages": stats.messages,
                "landed": stats.landed,
                "duplicates": stats.duplicates,
                "dead": stats.dead_lettered,
                "late": stats.late,
                "min_at": pc.min(event_times).as_py() if valid else None,
                "max_at": pc.max(event_times).as_py() if valid else None,
            },
        )
        if before_commit is not None:
            before_commit(stats)
    return stats


def advance_offset(
    con, consumer_name, partition, next_offset, expected_offset, state, batch_id, now
) -> None:
    params = {
        "c": consumer_name,
        "t": state.topic,
        "p": partition,
        "next": next_offset,
        "expected": expected_offset,
        "tid": state.topic_id,
        "batch": batch_id,
        "now": now,
    }
    if expected_offset is None:
        changed = con.fetchall(
            "insert into raw.kafka_offsets (consumer_name, topic, kafka_partition, topic_id, "
            "next_offset, landing_batch_id, updated_at) values (:c, :t, :p, :tid, :next, "
            ":batch, :now) on conflict (consumer_name, topic, kafka_partition) do nothing "
            "returning next_offset",
            params,
        )
    else:
        changed = con.fetchall(
            "update raw.kafka_offsets set next_offset = :next, topic_id = :tid, "
            "landing_batch_id = :batch, updated_at = :now where consumer_name = :c "
            "and topic = :t and kafka_partition = :p and next_offset = :expected "
            "returning next_offset",
            params,
        )
    if len(changed) != 1:
        raise ConcurrentLandingError(
            f"partition {partition} of {state.topic} was advanced by another lander; "
            "this batch was rolled back and will be re-read"
        )
