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
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from adapters.kafka import TopicState, topic_state
from adapters.warehouse.connection import Warehouse, WarehouseConnection
from billing.rules.events import EventValidator, Rejection, finish_row, utc_now
from billing.rules.meters import Aggregation, Meter
from billing.settings import Settings

log = logging.getLogger(__name__)

EVENT_COLUMNS = (
    ("source", "varchar", "text"),
    ("event_id", "varchar", "text"),
    ("spec_version", "varchar", "text"),
    ("event_type", "varchar", "text"),
    ("tenant_id", "varchar", "text"),
    ("event_at", "timestamp", "timestamp"),
    ("data", "varchar", "jsonb"),
    ("extensions", "varchar", "jsonb"),
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("seq", "bigint", "bigint"),
)
NOT_COUNTED_COLUMNS = (
    ("source", "varchar", "text"),
    ("event_id", "varchar", "text"),
    ("kafka_partition", "integer", "integer"),
    ("kafka_offset", "bigint", "bigint"),
    ("meter_key", "varchar", "text"),
    ("reason_code", "varchar", "text"),
    ("reason", "varchar", "text"),
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
    not_counted: int = 0  # (event, meter) pairs of landed events not counted for that meter
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
            "not_counted": self.total("not_counted"),
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
    """One landing transaction's messages, as consumed (no per-message parsing here)."""

    __slots__ = ("values", "partitions", "offsets", "messages", "next_offsets")

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.messages: list = []
        self.next_offsets: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class _Prepared:
    """A validated batch: Arrow columns of events to insert, the meters some of them are not
    counted for, and dead letters."""

    events: object  # pyarrow.Table with EVENT_COLUMNS
    not_counted: object  # pyarrow.Table with NOT_COUNTED_COLUMNS
    dead: dict[str, list]
    reasons: dict[str, int]


def _dead_letter_row(dead: dict[str, list], msg, code: str, reason: str) -> None:
    payload, encoding = _decode_payload(msg.value())
    key = msg.key()
    ts_type, ts_ms = msg.timestamp()
    dead["kafka_partition"].append(msg.partition())
    dead["kafka_offset"].append(msg.offset())
    dead["kafka_key"].append(key.decode("utf-8", "replace") if key is not None else None)
    dead["kafka_timestamp"].append(
        datetime.fromtimestamp(ts_ms / 1000, UTC).replace(tzinfo=None)
        if ts_type and ts_ms and ts_ms > 0
        else None
    )
    dead["payload"].append(payload)
    dead["payload_encoding"].append(encoding)
    dead["reason_code"].append(code)
    dead["reason"].append(reason[:1000])


def prepare_batch(validator: EventValidator, batch: _Batch, now: datetime) -> _Prepared:
    """Validate a whole batch at once and shape it for the warehouse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    incoming = pa.table(
        {"seq": pa.array(range(len(batch)), pa.int64()), "raw": pa.array(batch.values, pa.binary())}
    )
    checked = validator.validate_arrow(incoming, now)
    seq = checked.column("seq")
    code = checked.column("code")
    dead: dict[str, list] = {name: [] for name, _, _ in DEAD_LETTER_COLUMNS}
    reasons: dict[str, int] = {}

    def reject(i: int, c: str, r: str) -> None:
        _dead_letter_row(dead, batch.messages[i], c, r)
        reasons[c] = reasons.get(c, 0) + 1

    bad = pc.is_valid(code)
    for row in checked.filter(bad).select(["seq", "code", "reason"]).to_pylist():
        reject(row["seq"], row["code"], row["reason"])
    keep = pc.invert(bad)
    # Rare rows checked again in Python: extension attributes, or NaN/Infinity suspected.
    recheck = pc.fill_null(
        pc.or_(checked.column("has_extensions"), checked.column("needs_strict_check")), False
    )
    extensions = pa.nulls(checked.num_rows, pa.string())
    if pc.any(recheck).as_py():
        values: list[str | None] = [None] * checked.num_rows
        mask = keep.to_pylist()
        for i in pc.indices_nonzero(recheck).to_pylist():
            row = checked.slice(i, 1).to_pylist()[0]
            finished = finish_row(row, batch.values[row["seq"]])
            if isinstance(finished, Rejection):
                mask[i] = False
                reject(row["seq"], finished.code, finished.message)
            else:
                values[i] = finished.extensions_json
        extensions = pa.array(values, pa.string())
        keep = pa.array(mask)
    events = pa.table(
        {
            "source": checked.column("source"),
            "event_id": checked.column("event_id"),
            "spec_version": checked.column("spec_version"),
            "event_type": checked.column("event_type"),
            "tenant_id": checked.column("tenant_id"),
            "event_at": checked.column("event_at").cast(pa.timestamp("us")),
            "data": checked.column("data_json"),
            "extensions": extensions,
            "kafka_partition": pc.take(pa.array(batch.partitions, pa.int32()), seq),
            "kafka_offset": pc.take(pa.array(batch.offsets, pa.int64()), seq),
            "seq": seq,
        }
    ).filter(keep)
    lists = checked.column("not_counted").filter(keep)
    return _Prepared(events, _not_counted(lists, events), dead, reasons)


def _not_counted(lists, events):
    """One row per (kept event, meter it is not counted for), with the event's coordinates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parents = pc.list_parent_indices(lists)
    flat = pc.list_flatten(lists)
    return pa.table(
        {
            "source": pc.take(events.column("source"), parents),
            "event_id": pc.take(events.column("event_id"), parents),
            "kafka_partition": pc.take(events.column("kafka_partition"), parents),
            "kafka_offset": pc.take(events.column("kafka_offset"), parents),
            "meter_key": pc.struct_field(flat, "meter_key"),
            "reason_code": pc.struct_field(flat, "code"),
            "reason": pc.struct_field(flat, "reason"),
        }
    )


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
        partitions: Collection[int] | None = None,
    ):
        self.settings = settings
        self.warehouse = warehouse or Warehouse(settings)
        self.topic = settings.usage_topic
        self.consumer_name = settings.landing_consumer_name
        self._meters = meters
        self.before_commit = before_commit
        self.clock = clock
        self.idle_timeout = idle_timeout
        # A subset of partitions lets several landers share a topic (PostgreSQL warehouse).
        self.partitions = set(partitions) if partitions is not None else None

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
            stored = _stored_offsets(con, self.consumer_name, self.topic)
            start, expected = plan_start_offsets(state, stored)
            if self.partitions is not None:
                start = {p: o for p, o in start.items() if p in self.partitions}
            self._consume(con, meters, start, expected, state, result, max_batches)
            if con.kind == "duckdb" and result.batches:
                con.execute("checkpoint")  # hand the next reader a compact file, not a long WAL
            result.pending = pending_periods(con)
            result.next_offsets = {
                p: off
                for p, (off, _) in _stored_offsets(con, self.consumer_name, self.topic).items()
            }
        finally:
            con.close()
        return result

    # ------------------------------------------------------------------ internals
    def _consume(self, con, meters, start, expected, state, result, max_batches):
        """Read every partition until the broker reports its end (partition EOF).

        A reader thread fills batches while this thread validates and commits the previous one
        (DuckDB and librdkafka release the GIL), so landing keeps pace with consumption. Batches
        are still committed one at a time, in order, each with its own offsets.

        End-of-partition events are used rather than the high watermarks listed at the start
        because some Kafka-compatible brokers (Tansu among them) report the base offset of the
        last record batch there, not the end of the log.
        """
        batches: queue.Queue = queue.Queue(maxsize=2)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read_batches,
            args=(start, batches, stop),
            name="landing-reader",
            daemon=True,
        )
        validator = EventValidator(
            meters, timedelta(seconds=self.settings.max_event_future_seconds)
        )
        reader.start()
        try:
            while True:
                batch = batches.get()
                if batch is None:
                    break
                if isinstance(batch, BaseException):
                    raise batch
                prepared = prepare_batch(validator, batch, self.clock())
                stats = self._write(con, batch, prepared, expected, state)
                for p, off in batch.next_offsets.items():
                    expected[p] = off
                result.batches.append(stats)
                for code, n in prepared.reasons.items():
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
        finally:
            stop.set()
            while reader.is_alive():
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.1)
            reader.join()
            validator.close()

    def _read_batches(self, start: dict[int, int], out: queue.Queue, stop: threading.Event):
        """Reader thread: consume into batches until every partition reports its end."""

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        consumer = None
        try:
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
            while todo and not stop.is_set():
                batch = _Batch()
                values, partitions, offsets, messages = (
                    batch.values,
                    batch.partitions,
                    batch.offsets,
                    batch.messages,
                )
                next_offsets = batch.next_offsets
                last_message = time.monotonic()
                while todo and len(values) < batch_size and not stop.is_set():
                    msgs = consumer.consume(min(10_000, batch_size - len(values)), 0.5)
                    if not msgs:
                        if time.monotonic() - last_message > self.idle_timeout:
                            raise LandingError(
                                f"no messages from {self.topic} for {self.idle_timeout:.0f}s "
                                f"while partitions {sorted(todo)} had not reached their end"
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
                        values.append(msg.value() or b"")
                        partitions.append(partition)
                        offsets.append(offset)
                        messages.append(msg)
                        next_offsets[partition] = offset + 1
                if values and not put(batch):
                    return
            put(None)
        except KafkaException as exc:
            put(LandingError(f"Kafka error while landing: {exc}"))
        except BaseException as exc:  # noqa: BLE001 - handed to the landing thread
            put(exc)
        finally:
            if consumer is not None:
                consumer.close()

    def _write(
        self, con: WarehouseConnection, batch: _Batch, prepared: _Prepared, expected, state
    ) -> BatchStats:
        started_at = self.clock()
        landed_rows: list[tuple] = []
        valid = prepared.events.num_rows
        with con.transaction():
            if con.kind == "postgres":
                con.execute("lock table raw.closed_billing_periods in share mode")
            batch_id = con.fetchone("select nextval('raw.landing_batch_seq')")[0]
            stats = BatchStats(batch_id, messages=len(batch))
            landed_at = self.clock()
            params = {"batch": batch_id, "landed_at": landed_at, "topic": self.topic}
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
                con.load_temp_table(
                    "landing_not_counted", NOT_COUNTED_COLUMNS, prepared.not_counted
                )
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
            import pyarrow.compute as pc

            event_times = prepared.events.column("event_at")
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
                    "min_at": pc.min(event_times).as_py() if valid else None,
                    "max_at": pc.max(event_times).as_py() if valid else None,
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
