"""Exactly-once landing of usage events from Kafka into the warehouse.

The consumer uses manual partition assignment and never commits offsets to Kafka. Each batch is
written in **one warehouse transaction**: the new events (deduplicated on ``(source, id)`` against
everything ever landed), the dead letters, the next offset of every partition it read, the
per-period watermarks and a batch record. A crash before the commit loses the whole batch and the
offsets with it, so a restart re-reads exactly that batch; a crash after it finds the batch landed
and resumes after it. Nothing is lost and nothing is counted twice.

Offsets are checked optimistically (``update ... where next_offset = :expected``) so two landers
that accidentally read the same partitions cannot both commit the same batch.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from ingestion.events import Rejection, UsageEvent, utc_now, validate_event
from ingestion.kafka import TopicState, topic_state
from ingestion.meters import Aggregation, Meter, meters_by_event_type
from ingestion.settings import Settings
from ingestion.warehouse import Warehouse, WarehouseConnection

log = logging.getLogger(__name__)

EVENT_COLUMNS = (
    ("source", "varchar", "text"),
    ("event_id", "varchar", "text"),
    ("spec_version", "varchar", "text"),
    ("event_type", "varchar", "text"),
    ("tenant_id", "varchar", "text"),
    ("event_at", "timestamp", "timestamp"),
    ("period_start", "date", "date"),
    ("data", "varchar", "jsonb"),
    ("extensions", "varchar", "jsonb"),
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
)
DEAD_LETTER_COLUMNS = (
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("kafka_key", "varchar", "text"),
    ("kafka_timestamp", "timestamp", "timestamp"),
    ("payload", "varchar", "text"),
    ("payload_encoding", "varchar", "text"),
    ("reason_code", "varchar", "text"),
    ("reason", "varchar", "text"),
)


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
    late: int = 0
    periods: set[date] = field(default_factory=set)


@dataclass
class LandingResult:
    topic: str
    topic_id: str | None
    batches: list[BatchStats] = field(default_factory=list)
    end_offsets: dict[int, int] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    pending: dict[date, int] = field(default_factory=dict)
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def pending_periods(self) -> list[date]:
        return sorted(self.pending)

    def pending_periods_with_watermarks(self) -> dict[str, int]:
        """Periods to rebuild, each with the newest landing batch it holds."""
        return {p.isoformat(): b for p, b in sorted(self.pending.items())}

    def total(self, name: str) -> int:
        return sum(getattr(b, name) for b in self.batches)

    @property
    def periods(self) -> list[date]:
        return sorted(set().union(*(b.periods for b in self.batches))) if self.batches else []

    def summary(self) -> dict[str, object]:
        return {
            "batches": len(self.batches),
            "messages": self.total("messages"),
            "landed": self.total("landed"),
            "duplicates": self.total("duplicates"),
            "dead_lettered": self.total("dead_lettered"),
            "late": self.total("late"),
            "periods_touched": [p.isoformat() for p in self.periods],
            "periods_pending_build": [p.isoformat() for p in self.pending_periods],
            "dead_letter_reasons": dict(self.dead_letter_reasons),
        }


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


def _stored_offsets(con: WarehouseConnection, consumer: str, topic: str) -> dict[int, tuple]:
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


def _decode_payload(value: bytes | None) -> tuple[str, str]:
    if value is None:
        return "", "utf-8"
    try:
        text = value.decode("utf-8")
        if "\x00" not in text:
            return text, "utf-8"
    except UnicodeDecodeError:
        pass
    return base64.b64encode(value).decode("ascii"), "base64"


class _Batch:
    """Column buffers for one landing transaction."""

    def __init__(self) -> None:
        self.events: dict[str, list] = {name: [] for name, _, _ in EVENT_COLUMNS}
        self.dead: dict[str, list] = {name: [] for name, _, _ in DEAD_LETTER_COLUMNS}
        self.seen: set[tuple[str, str]] = set()
        self.next_offsets: dict[int, int] = {}
        self.messages = 0
        self.duplicates_in_batch = 0
        self.reasons: dict[str, int] = {}

    def add_event(self, event: UsageEvent, partition: int, offset: int) -> None:
        key = (event.source, event.event_id)
        if key in self.seen:
            self.duplicates_in_batch += 1
            return
        self.seen.add(key)
        e = self.events
        e["source"].append(event.source)
        e["event_id"].append(event.event_id)
        e["spec_version"].append(event.spec_version)
        e["event_type"].append(event.event_type)
        e["tenant_id"].append(event.tenant_id)
        e["event_at"].append(event.event_at)
        e["period_start"].append(date(event.event_at.year, event.event_at.month, 1))
        e["data"].append(event.data_json)
        e["extensions"].append(event.extensions_json)
        e["kafka_partition"].append(partition)
        e["kafka_offset"].append(offset)

    def add_dead_letter(self, msg, rejection: Rejection) -> None:
        payload, encoding = _decode_payload(msg.value())
        key = msg.key()
        ts_type, ts_ms = msg.timestamp()
        d = self.dead
        d["kafka_partition"].append(msg.partition())
        d["kafka_offset"].append(msg.offset())
        d["kafka_key"].append(key.decode("utf-8", "replace") if key is not None else None)
        d["kafka_timestamp"].append(
            datetime.fromtimestamp(ts_ms / 1000, UTC).replace(tzinfo=None)
            if ts_type and ts_ms and ts_ms > 0
            else None
        )
        d["payload"].append(payload)
        d["payload_encoding"].append(encoding)
        d["reason_code"].append(rejection.code)
        d["reason"].append(rejection.message[:1000])
        self.reasons[rejection.code] = self.reasons.get(rejection.code, 0) + 1


class UsageLander:
    """Lands everything currently on the usage topic, batch by batch, exactly once."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse | None = None,
        *,
        meters: list[Meter] | None = None,
        before_commit: Callable[[BatchStats], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        idle_timeout: float = 30.0,
    ):
        self.settings = settings
        self.warehouse = warehouse or Warehouse(settings)
        self.topic = settings.usage_topic
        self.consumer_name = settings.landing_consumer_name
        self._meters = meters
        self.before_commit = before_commit
        self.clock = clock
        self.idle_timeout = idle_timeout

    def run(self, max_batches: int | None = None) -> LandingResult:
        self.warehouse.ensure_schema()
        state = topic_state(self.settings, self.topic)
        result = LandingResult(self.topic, state.topic_id, end_offsets=state.end_offsets)
        con = self.warehouse.connect()
        try:
            meters = self._meters if self._meters is not None else load_meters(con)
            if not meters:
                raise LandingError(
                    "no meters are defined: create meters through the API "
                    "(POST /api/v1/billing/meters) and snapshot the control plane before landing"
                )
            index = meters_by_event_type(meters)
            stored = _stored_offsets(con, self.consumer_name, self.topic)
            start, expected = plan_start_offsets(state, stored)
            self._consume(con, index, start, expected, state, result, max_batches)
            result.pending = pending_periods(con)
            result.next_offsets = {
                p: off
                for p, (off, _) in _stored_offsets(con, self.consumer_name, self.topic).items()
            }
        finally:
            con.close()
        return result

    # ------------------------------------------------------------------ internals
    def _consume(self, con, index, start, expected, state, result, max_batches):
        """Read every partition until the broker reports its end (partition EOF).

        End-of-partition events are used rather than the high watermarks listed at the start
        because some Kafka-compatible brokers (Tansu among them) report the base offset of the
        last record batch there, not the end of the log.
        """
        consumer = Consumer(
            self.settings.kafka_client_config(
                **{
                    "group.id": self.consumer_name,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": True,
                    "fetch.max.bytes": 52428800,
                    "max.partition.fetch.bytes": 10485760,
                    "queued.max.messages.kbytes": 262144,
                }
            )
        )
        todo = set(start)
        consumer.assign([TopicPartition(self.topic, p, start[p]) for p in sorted(todo)])
        batch_size = self.settings.landing_batch_size
        max_future = timedelta(seconds=self.settings.max_event_future_seconds)
        try:
            while todo:
                batch = _Batch()
                now = self.clock()
                last_message = time.monotonic()
                while todo and batch.messages < batch_size:
                    msgs = consumer.consume(min(10_000, batch_size - batch.messages), 0.5)
                    if not msgs:
                        if time.monotonic() - last_message > self.idle_timeout:
                            raise LandingError(
                                f"no messages from {self.topic} for {self.idle_timeout:.0f}s while "
                                f"partitions {sorted(todo)} had not reached their end offsets"
                            )
                        continue
                    last_message = time.monotonic()
                    for msg in msgs:
                        err = msg.error()
                        if err is not None:
                            if err.code() == KafkaError._PARTITION_EOF:
                                todo.discard(msg.partition())
                                continue
                            raise LandingError(f"Kafka error while landing: {err}")
                        partition, offset = msg.partition(), msg.offset()
                        batch.messages += 1
                        checked = validate_event(msg.value() or b"", index, now, max_future)
                        if type(checked) is UsageEvent:
                            batch.add_event(checked, partition, offset)
                        else:
                            batch.add_dead_letter(msg, checked)
                        batch.next_offsets[partition] = offset + 1
                if batch.messages == 0:
                    continue
                stats = self._write(con, batch, expected, state)
                for p, off in batch.next_offsets.items():
                    expected[p] = off
                result.batches.append(stats)
                for code, n in batch.reasons.items():
                    result.dead_letter_reasons[code] = result.dead_letter_reasons.get(code, 0) + n
                log.info(
                    "landing batch %s: %s messages, %s landed, %s duplicates, %s dead-lettered, "
                    "%s late",
                    stats.landing_batch_id,
                    stats.messages,
                    stats.landed,
                    stats.duplicates,
                    stats.dead_lettered,
                    stats.late,
                )
                if max_batches is not None and len(result.batches) >= max_batches:
                    break
        except KafkaException as exc:
            raise LandingError(f"Kafka error while landing: {exc}") from exc
        finally:
            consumer.close()

    def _write(self, con: WarehouseConnection, batch: _Batch, expected, state) -> BatchStats:
        started_at = self.clock()
        landed_rows: list[tuple] = []
        with con.transaction():
            if con.kind == "postgres":
                con.execute("lock table raw.closed_billing_periods in share mode")
            batch_id = con.fetchone("select nextval('raw.landing_batch_seq')")[0]
            stats = BatchStats(batch_id, messages=batch.messages)
            landed_at = self.clock()
            params = {"batch": batch_id, "landed_at": landed_at, "topic": self.topic}
            if batch.events["event_id"]:
                con.load_temp_table("landing_events", EVENT_COLUMNS, batch.events)
                landed_rows = con.fetchall(
                    """insert into raw.usage_events (
                        source, event_id, spec_version, event_type, tenant_id, event_at,
                        period_start, data, extensions, kafka_topic, kafka_partition,
                        kafka_offset, landing_batch_id, landed_at, is_late)
                    select b.source, b.event_id, b.spec_version, b.event_type, b.tenant_id,
                        b.event_at, b.period_start, b.data, b.extensions, :topic,
                        b.kafka_partition, b.kafka_offset, :batch, :landed_at,
                        c.period_start is not null
                    from landing_events b
                    left join raw.closed_billing_periods c on c.period_start = b.period_start
                    on conflict (source, event_id) do nothing
                    returning period_start, is_late""",
                    params,
                )
            stats.landed = len(landed_rows)
            stats.duplicates = (
                len(batch.events["event_id"]) - stats.landed + batch.duplicates_in_batch
            )
            stats.late = sum(1 for _, late in landed_rows if late)
            stats.periods = {p for p, _ in landed_rows}
            if batch.dead["kafka_offset"]:
                con.load_temp_table("landing_dead_letters", DEAD_LETTER_COLUMNS, batch.dead)
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
            stats.dead_lettered = len(batch.dead["kafka_offset"])
            for partition, next_offset in sorted(batch.next_offsets.items()):
                self._advance_offset(
                    con, partition, next_offset, expected.get(partition), state, batch_id, landed_at
                )
            for period in sorted(stats.periods):
                con.execute(
                    "insert into raw.usage_period_watermarks (period_start, last_landing_batch_id, "
                    "last_landed_at) values (:p, :batch, :landed_at) on conflict (period_start) "
                    "do update set last_landing_batch_id = excluded.last_landing_batch_id, "
                    "last_landed_at = excluded.last_landed_at",
                    {"p": period, **params},
                )
            event_times = batch.events["event_at"]
            con.execute(
                "insert into raw.landing_batches (landing_batch_id, consumer_name, topic, "
                "started_at, committed_at, messages, landed, duplicates, dead_lettered, late, "
                "min_event_at, max_event_at) values (:batch, :consumer, :topic, :started, "
                ":landed_at, :messages, :landed, :duplicates, :dead, :late, :min_at, :max_at)",
                {
                    **params,
                    "consumer": self.consumer_name,
                    "started": started_at,
                    "messages": stats.messages,
                    "landed": stats.landed,
                    "duplicates": stats.duplicates,
                    "dead": stats.dead_lettered,
                    "late": stats.late,
                    "min_at": min(event_times) if event_times else None,
                    "max_at": max(event_times) if event_times else None,
                },
            )
            if self.before_commit is not None:
                self.before_commit(stats)
        return stats

    def _advance_offset(self, con, partition, next_offset, expected_offset, state, batch_id, now):
        params = {
            "c": self.consumer_name,
            "t": self.topic,
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
                f"partition {partition} of {self.topic} was advanced by another lander; "
                "this batch was rolled back and will be re-read"
            )


def land_usage_events(settings: Settings, **kwargs) -> LandingResult:
    """Land everything currently on the usage topic (see :class:`UsageLander`)."""
    max_batches = kwargs.pop("max_batches", None)
    return UsageLander(settings, **kwargs).run(max_batches=max_batches)
