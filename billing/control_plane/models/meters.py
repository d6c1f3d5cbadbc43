"""Meters and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON, DateTime, String

from billing.control_plane.models.base import Base
from billing.rules.events import utc_now
from billing.rules.meters import Meter as MeterDefinition


class Meter(Base):
    __tablename__ = "meters"

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    event_type: Mapped[str] = mapped_column(String(200), index=True)
    aggregation: Mapped[str] = mapped_column(String(20))
    value_property: Mapped[str | None] = mapped_column(String(63), nullable=True)
    unit: Mapped[str] = mapped_column(String(32))
    group_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @classmethod
    def from_definition(cls, meter: MeterDefinition) -> Meter:
        return cls(
            key=meter.key,
            name=meter.name,
            event_type=meter.event_type,
            aggregation=meter.aggregation.value,
            value_property=meter.value_property,
            unit=meter.unit,
            group_by=list(meter.group_by),
        )


class ApiKey(Base):
    """A tenant API key. Only a SHA-256 hash of the secret part is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant_id", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
