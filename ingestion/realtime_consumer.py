"""Real-time usage: a long-running consumer of the usage topic and the figures it keeps.

The consumer (``billing realtime``) reads ``usage-events`` with manual partition assignment,
validates every message with the same validator as landing (``billing.rules.events``) against the
active meters, and keeps per tenant, meter and billing period the running quantity the
warehouse would compute (sum, count, max, latest by event time, unique_count through a table of
distinct values). Each batch is **one control-plane transaction**: the totals, the
``(source, id)`` keys of the events counted (a duplicate or a replay is skipped), the next offset
of every partition read (checked optimistically, as landing does) and the alerts the new totals
reach, with their outbox rows. A crash before the commit loses the batch and its offsets
together; a restart re-reads exactly that batch. Nothing is lost, nothing is counted twice.

**Retention.** Real-time figures serve the current billing period and the previous one (still
open during the grace period). The keys of counted events and the distinct values are kept for
those two periods only: when the clock enters a new period the consumer deletes the older ones,
in the batch's transaction, and from then on skips events of older periods (``expired``; the
warehouse still lands and bills them, flagged late). So the deduplication state stays bounded
by two periods of events and an old event replayed after its keys were deleted is never counted
twice.

Cost is computed on read from these totals in ``ingestion.realtime``; notifications are sent by
``ingestion.realtime_delivery``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from adapters.kafka import topic_state
from billing.control_plane.db import session_factory, session_scope
from billing.control_plane.models import Meter as MeterRow
from billing.control_plane.models import (
    RealtimeDistinctValue,
    RealtimeOffset,
    RealtimeSeenEvent,
    RealtimeUsage,
)
from billing.rules.alerts import period_bounds
from billing.rules.events import EventValidator, UsageEvent, utc_now
from billing.rules.meters import Aggregation, Meter
from billing.services.alerts import AlertRules, evaluate_budget, evaluate_usage
from billing.services.meters import to_meter
from billing.settings import Settings
from ingestion.landing_store import plan_start_offsets
from ingestion.realtime import tenant_cost

log = logging.getLogger(__name__)


SOURCE = "realtime"


class RealtimeError(RuntimeError):
    pass


class ConcurrentConsumerError(RealtimeError):
    """Another consumer advanced the same partition; this batch was rolled back."""


def _insert_ignore(session: Session, model, values: dict, keys: list[str]) -> bool:
    """Insert a row unless its primary key exists; True if inserted."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(getattr(model, keys[0]))
    )
    return session.execute(statement).first() is not None


def _insert_new(session: Session, model, rows: list[dict], keys: list[str]) -> set[tuple]:
    """Insert rows whose key does not exist yet; return the keys inserted. One statement,
    compiled once and sent as batched multi-row inserts ("insertmanyvalues")."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    columns = [getattr(model, k) for k in keys]
    statement = insert(model).on_conflict_do_nothing(index_elements=keys).returning(*columns)
    return {tuple(r) for r in session.execute(statement, rows).all()}


def _value(data: dict, meter: Meter):
    if meter.aggregation == Aggregation.COUNT:
        return Decimal(1)
    raw = data.get(meter.value_property)
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        return str(raw)
    return Decimal(str(raw)) if not isinstance(raw, Decimal) else raw


@dataclass
class BatchResult:
    messages: int = 0
    counted: int = 0
    duplicates: int = 0
    rejected: int = 0
    expired: int = 0  # events of a period older than the previous one: not counted
    alerts: list[int] = field(default_factory=list)


def retained_from(now: datetime) -> date:
    """The first day of the previous billing period: older events are no longer counted."""
    current = period_bounds(now)[0]
    return (current - timedelta(days=1)).replace(day=1)


def prune_dedup_state(session: Session, oldest: date) -> None:
    """Delete the counted-event keys and distinct values of periods before ``oldest``."""
    session.execute(delete(RealtimeSeenEvent).where(RealtimeSeenEvent.period_start < oldest))
    session.execute(
        delete(RealtimeDistinctValue).where(RealtimeDistinctValue.period_start < oldest)
    )


class RealtimeConsumer:
    """Keeps ``realtime_usage`` up to date from the usage topic (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        before_commit: Callable[[BatchResult], None] | None = None,
        meters_ttl: float = 2.0,
    ):
        self.settings = settings
        self.topic = settings.usage_topic
        self.name = settings.realtime_consumer_name
        self.clock = clock
        self.before_commit = before_commit
        self.meters_ttl = meters_ttl
        self._sessions = session_factory(settings)
        self._meters: tuple[Meter, ...] = ()
        self._archived: dict[str, datetime] = {}
        self._meters_at = 0.0
        self._validator: EventValidator | None = None
        self._fired: set[tuple] = set()  # alert keys known to be recorded
        self._retained_from: date | None = None  # older dedup state deleted (committed)
        self.batches = 0

    # ------------------------------------------------------------------ meters
    def _refresh_meters(self, session: Session) -> None:
        if time.monotonic() - self._meters_at < self.meters_ttl and self._validator is not None:
            return
        rows = session.scalars(select(MeterRow).where(MeterRow.archived_at.is_(None))).all()
        meters = tuple(to_meter(r) for r in sorted(rows, key=lambda r: r.key))
        if self._validator is None or meters != self._meters:
            if self._validator is not None:
                self._validator.close()
            self._validator = EventValidator(
                meters, timedelta(seconds=self.settings.max_event_future_seconds)
            )
            self._meters = meters
        self._meters_at = time.monotonic()

    # ------------------------------------------------------------------ offsets
    def _start_offsets(self) -> tuple[dict[int, int], dict[int, int | None]]:
        state = topic_state(self.settings, self.topic)
        with self._sessions() as session:
            rows = session.scalars(
                select(RealtimeOffset).where(
                    RealtimeOffset.consumer_name == self.name, RealtimeOffset.topic == self.topic
                )
            ).all()
            stored = {r.kafka_partition: (r.next_offset, r.topic_id) for r in rows}
        start, expected = plan_start_offsets(state, stored)
        self._topic_id = state.topic_id
        return start, expected

    def _commit_offsets(
        self, session: Session, next_offsets: dict[int, int], expected: dict[int, int | None]
    ) -> None:
        now = self.clock()
        for partition, offset in next_offsets.items():
            before = expected.get(partition)
            if before is None:
                if not _insert_ignore(
                    session,
                    RealtimeOffset,
                    {
                        "consumer_name": self.name,
                        "topic": self.topic,
                        "kafka_partition": partition,
                        "next_offset": offset,
                        "topic_id": self._topic_id,
                        "updated_at": now,
                    },
                    ["consumer_name", "topic", "kafka_partition"],
                ):
                    raise ConcurrentConsumerError(f"partition {partition} was taken over")
                continue
            from sqlalchemy import update

            result = session.execute(
                update(RealtimeOffset)
                .where(RealtimeOffset.consumer_name == self.name)
                .where(RealtimeOffset.topic == self.topic)
                .where(RealtimeOffset.kafka_partition == partition)
                .where(RealtimeOffset.next_offset == before)
                .values(next_offset=offset, topic_id=self._topic_id, updated_at=now)
            )
            if result.rowcount != 1:
                raise ConcurrentConsumerError(
                    f"partition {partition}: the stored offset is no longer {before}"
                )

    # ------------------------------------------------------------------ counting
    def process(
        self,
        values: list[bytes],
        next_offsets: dict[int, int],
        expected: dict[int, int | None],
    ) -> BatchResult:
        """Count one batch of raw messages and commit it with its offsets, in one transaction.

        Set-based: one statement inserts the batch's new ``(source, id)`` keys and returns
        those that were new, one reads the totals they touch, one inserts distinct values."""
        result = BatchResult(messages=len(values))
        now = self.clock()
        oldest = retained_from(now)
        with session_scope(self.settings) as session:
            if self._retained_from != oldest:
                prune_dedup_state(session, oldest)
            self._refresh_meters(session)
            by_type: dict[str, list[Meter]] = {}
            for m in self._meters:
                by_type.setdefault(m.event_type, []).append(m)
            checked = self._validator.validate(values, now) if values else []
            events: dict[tuple[str, str], UsageEvent] = {}
            for event in checked:
                if not isinstance(event, UsageEvent):
                    result.rejected += 1
                elif event.period_start < oldest:
                    result.expired += 1
                elif (event.source, event.event_id) in events:
                    result.duplicates += 1
                else:
                    events[(event.source, event.event_id)] = event
            new = _insert_new(
                session,
                RealtimeSeenEvent,
                [
                    {"source": e.source, "event_id": e.event_id, "period_start": e.period_start}
                    for e in events.values()
                ],
                ["source", "event_id"],
            )
            counted = [e for key, e in events.items() if key in new]
            result.duplicates += len(events) - len(counted)
            result.counted = len(counted)
            states = self._load_states(session, counted, by_type)
            distinct: list[tuple[tuple, str]] = []
            for event in counted:
                data = json.loads(event.data_json, parse_float=Decimal)
                skipped = {n.meter_key for n in event.not_counted}
                for meter in by_type.get(event.event_type, ()):
                    if meter.key not in skipped:  # counted for the meters it satisfies only
                        self._apply(session, states, event, meter, data, now, distinct)
            if distinct:
                added = _insert_new(
                    session,
                    RealtimeDistinctValue,
                    [
                        {"tenant_id": k[0], "meter_key": k[1], "period_start": k[2], "value": v}
                        for k, v in dict.fromkeys(distinct)
                    ],
                    ["tenant_id", "meter_key", "period_start", "value"],
                )
                for tenant, meter_key, period, _value in added:
                    states[(tenant, meter_key, period)].quantity += 1
            session.flush()
            rules = AlertRules.load(session)
            known = set(self._fired)
            rules.known = known
            tenants: set[tuple[str, date]] = set()
            for (tenant, meter_key, period), row in sorted(states.items()):
                if row.updated_at != now:
                    continue  # loaded but not touched
                tenants.add((tenant, period))
                result.alerts += evaluate_usage(
                    session, rules, tenant, meter_key, period, row.quantity, SOURCE, now
                )
            for tenant, period in sorted(tenants):
                if tenant in rules.budgets:
                    cost = tenant_cost(session, tenant, period, now)
                    if cost.currency:
                        result.alerts += evaluate_budget(
                            session,
                            rules,
                            tenant,
                            period,
                            cost.month_to_date,
                            cost.currency,
                            SOURCE,
                            now,
                        )
            self._commit_offsets(session, next_offsets, expected)
            if self.before_commit is not None:
                self.before_commit(result)
        self._fired = known  # committed: these crossings are recorded
        self._retained_from = oldest
        for p, off in next_offsets.items():
            expected[p] = off
        self.batches += 1
        return result

    def _load_states(self, session, events, by_type) -> dict[tuple[str, str, date], RealtimeUsage]:
        """The totals the events touch, in one read."""
        keys = {
            (e.tenant_id, m.key, e.period_start)
            for e in events
            for m in by_type.get(e.event_type, ())
        }
        if not keys:
            return {}
        tenants = sorted({k[0] for k in keys})
        periods = sorted({k[2] for k in keys})
        states = {}
        for chunk in range(0, len(tenants), 500):
            rows = session.scalars(
                select(RealtimeUsage)
                .where(RealtimeUsage.tenant_id.in_(tenants[chunk : chunk + 500]))
                .where(RealtimeUsage.period_start.in_(periods))
            ).all()
            for row in rows:
                states[(row.tenant_id, row.meter_key, row.period_start)] = row
        return states

    def _apply(self, session, states, event: UsageEvent, meter: Meter, data, now, distinct):
        period = event.period_start
        key = (event.tenant_id, meter.key, period)
        row = states.get(key)
        if row is None:
            row = RealtimeUsage(
                tenant_id=event.tenant_id,
                meter_key=meter.key,
                period_start=period,
                aggregation=meter.aggregation.value,
                quantity=Decimal(0),
                event_count=0,
                latest_at=None,
                updated_at=now,
            )
            session.add(row)
            states[key] = row
        value = _value(data, meter)
        agg = meter.aggregation
        first = row.event_count == 0
        if agg in (Aggregation.SUM, Aggregation.COUNT):
            row.quantity = row.quantity + value
        elif agg == Aggregation.MAX:
            row.quantity = value if first else max(row.quantity, value)
        elif agg == Aggregation.LATEST:
            if row.latest_at is None or event.event_at >= row.latest_at:
                row.quantity = value
                row.latest_at = event.event_at
        elif agg == Aggregation.UNIQUE_COUNT:
            distinct.append((key, value))  # counted once inserted (see process)
        row.event_count += 1
        row.updated_at = now

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event, max_batches: int | None = None) -> None:
        """Consume until ``stop`` is set (or ``max_batches`` batches were committed)."""
        start, expected = self._start_offsets()
        consumer = Consumer(
            self.settings.kafka_client_config(
                **{
                    "group.id": self.name,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": False,
                    "fetch.wait.max.ms": 50,
                }
            )
        )
        try:
            consumer.assign([TopicPartition(self.topic, p, o) for p, o in sorted(start.items())])
            log.info("real-time consumer %s reading %s from %s", self.name, self.topic, start)
            size = self.settings.realtime_batch_size
            wait = self.settings.realtime_max_wait_seconds
            while not stop.is_set():
                values: list[bytes] = []
                next_offsets: dict[int, int] = {}
                deadline = time.monotonic() + wait
                while len(values) < size and not stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0 and values:
                        break
                    msgs = consumer.consume(min(1000, size - len(values)), max(left, 0.05))
                    for msg in msgs:
                        err = msg.error()
                        if err is not None:
                            if err.code() == KafkaError._PARTITION_EOF:
                                continue
                            raise RealtimeError(f"Kafka error: {err}")
                        values.append(msg.value() or b"")
                        next_offsets[msg.partition()] = msg.offset() + 1
                    if not msgs and not values and left <= 0:
                        deadline = time.monotonic() + wait
                if not values:
                    continue
                result = self.process(values, next_offsets, expected)
                log.debug("real-time batch: %s", result)
                if max_batches is not None and self.batches >= max_batches:
                    return
        except KafkaException as exc:
            raise RealtimeError(f"Kafka error: {exc}") from exc
        finally:
            consumer.close()
            if self._validator is not None:
                self._validator.close()
                self._validator = None
