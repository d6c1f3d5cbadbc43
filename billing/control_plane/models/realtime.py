"""Real-time usage state (counters, distinct values, seen events, offsets) and the reconciliation of
it against the warehouse."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import BigInteger, Date, DateTime, Integer, String

from billing.control_plane.models.base import QUANTITY, Base
from billing.rules.events import utc_now


class RealtimeUsage(Base):
    """Running usage per tenant, meter and period, written by the real-time consumer."""

    __tablename__ = "realtime_usage"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    meter_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    aggregation: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    latest_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class RealtimeDistinctValue(Base):
    """Distinct values seen by unique_count meters, per tenant and period."""

    __tablename__ = "realtime_distinct_values"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    meter_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(256), primary_key=True)


class RealtimeSeenEvent(Base):
    """Every event counted, by (source, id): a replayed or duplicated event is skipped."""

    __tablename__ = "realtime_seen_events"

    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, index=True)


class RealtimeOffset(Base):
    """The consumer's next offset per partition, committed with the totals it produced."""

    __tablename__ = "realtime_offsets"

    consumer_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249), primary_key=True)
    kafka_partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class ReconciliationRun(Base):
    """One comparison of the real-time totals with the warehouse's period mart."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    snapshot: Mapped[str] = mapped_column(String(200))
    compared: Mapped[int] = mapped_column(Integer)
    drifted: Mapped[int] = mapped_column(Integer)


class ReconciliationDrift(Base):
    """A difference between real-time totals and the warehouse's period mart."""

    __tablename__ = "reconciliation_drifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    meter_key: Mapped[str] = mapped_column(String(63))
    period_start: Mapped[date] = mapped_column(Date)
    realtime_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    warehouse_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    difference: Mapped[Decimal] = mapped_column(QUANTITY)
