"""Exactly-once landing of usage events from Kafka into the warehouse.

The consumer uses manual partition assignment and never commits offsets to Kafka. Each batch is
written in **one warehouse transaction**: the new events (deduplicated on ``(source, id)`` against
everything ever landed), the dead letters, the next offset of every partition it read, the
per-period watermarks and a batch record. A crash before the commit loses the whole batch and the
offsets with it, so a restart re-reads exactly that batch; a crash after it finds the batch landed
and resumes after it. Nothing is lost and nothing is counted twice.

This module is the consumer loop; a batch is validated and shaped in ``ingestion.landing_batches``
and written, with its offsets, in ``ingestion.landing_store``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from adapters.kafka import topic_state
from adapters.warehouse.connection import Warehouse
from billing.rules.events import EventValidator, utc_now
from billing.rules.meters import Meter
from billing.settings import Settings
from ingestion.landing_batches import Batch, prepare_batch
from ingestion.landing_store import (
    BatchStats,
    LandingError,
    load_meters,
    pending_periods,
    plan_start_offsets,
    stored_offsets,
    write_batch,
)

log = logging.getLogger(__name__)


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
            stored = stored_offsets(con, self.consumer_name, self.topic)
            start, expected = plan_start_offsets(state, stored)
            if self.partitions is not None:
                start = {p: o for p, o in start.items() if p in self.partitions}
            self._consume(con, meters, start, expected, state, result, max_batches)
            if con.kind == "duckdb" and result.batches:
                con.execute("checkpoint")  # hand the next reader a compact file, not a long WAL
            result.pending = pending_periods(con)
            result.next_offsets = {
                p: off
                for p, (off, _) in stored_offsets(con, self.consumer_name, self.topic).items()
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
                stats = write_batch(
                    con,
                    batch,
                    prepared,
                    expected,
                    state,
                    consumer_name=self.consumer_name,
                    clock=self.clock,
                    before_commit=self.before_commit,
                )
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
                batch = Batch()
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


def land_usage_events(settings: Settings, **kwargs) -> LandingResult:
    """Land everything currently on the usage topic (see :class:`UsageLander`)."""
    max_batches = kwargs.pop("max_batches", None)
    return UsageLander(settings, **kwargs).run(max_batches=max_batches)
