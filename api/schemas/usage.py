"""Response schemas (``*Public``): usage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Page
from billing.timeutil import UtcDateTime


class UsagePublic(BaseModel):
    tenant_id: str
    meter: str
    granularity: Literal["day", "period"]
    start: date = Field(description="First day covered.")
    end: date = Field(description="First day after the range covered (exclusive).")
    group_key: str | None = Field(None, description="Group-by breakdown key, when requested.")
    aggregation: str
    quantity: Decimal
    unit: str | None = None
    event_count: int
    late_event_count: int | None = None


class UsagesPublic(Page[UsagePublic]):
    as_of: UtcDateTime | None = Field(description="When the data served was published.")


class MeterVerdict(BaseModel):
    """Whether an accepted event counts for one meter of its type, and if not, why."""

    counted: bool
    code: str | None = Field(
        default=None, description="missing_property, bad_quantity or bad_value when not counted."
    )
    reason: str | None = None


class IngestResult(BaseModel):
    index: int
    id: str | None
    status: Literal["accepted", "rejected"]
    code: str | None = None
    reason: str | None = Field(
        default=None,
        description="Why it was rejected; for an accepted event not counted for every meter of "
        "its type, which meters it counts for and why not the others.",
    )
    meters: dict[str, MeterVerdict] | None = Field(
        default=None, description="Accepted events: per meter key of the event's type."
    )


class IngestResponse(BaseModel):
    accepted: int
    rejected: int
    not_counted: int = Field(
        default=0, description="(event, meter) pairs accepted but not counted for that meter."
    )
    results: list[IngestResult]


class DeadLetterPublic(BaseModel):
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    kafka_key: str | None
    payload: str
    payload_encoding: str
    reason_code: str
    reason: str
    dead_lettered_at: UtcDateTime


class DeadLettersPublic(Page[DeadLetterPublic]):
    as_of: UtcDateTime | None


class NotCountedPublic(BaseModel):
    source: str
    event_id: str
    tenant_id: str
    event_type: str
    meter: str = Field(description="The meter the event is not counted for.")
    event_at: UtcDateTime
    reason_code: str
    reason: str
    recorded_at: UtcDateTime


class NotCountedsPublic(Page[NotCountedPublic]):
    as_of: UtcDateTime | None
