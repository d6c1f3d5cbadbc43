"""Request and response schemas, named by role (``MeterCreate``, ``MeterPublic``, ...)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Rows matching the filters, across all pages.")
    limit: int
    offset: int


class Message(BaseModel):
    detail: str


# ----------------------------------------------------------------------------- meters
class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(examples=["api_calls"], description="Lowercase key, unique and permanent.")
    name: str = Field("", max_length=200)
    event_type: str = Field(examples=["api.request"], description="CloudEvents `type` counted.")
    aggregation: Literal["sum", "count", "max", "unique_count", "latest"]
    value_property: str | None = Field(
        None, description="Top-level key of the event data (not used by `count`)."
    )
    unit: str = Field("unit", max_length=32)
    group_by: list[str] = Field(default_factory=list, max_length=8)


class MeterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=32)


class MeterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    name: str
    event_type: str
    aggregation: str
    value_property: str | None
    unit: str
    group_by: list[str]
    created_at: datetime
    archived_at: datetime | None


class MetersPublic(BaseModel):
    data: list[MeterPublic]
    count: int


# ----------------------------------------------------------------------------- API keys
class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    name: str = Field("", max_length=200)


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key. Shown once; only a hash is stored.")


class ApiKeysPublic(BaseModel):
    data: list[ApiKeyPublic]
    count: int


# ----------------------------------------------------------------------------- usage
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
    as_of: datetime | None = Field(description="When the data served was published.")


class IngestResult(BaseModel):
    index: int
    id: str | None
    status: Literal["accepted", "rejected"]
    code: str | None = None
    reason: str | None = None


class IngestResponse(BaseModel):
    accepted: int
    rejected: int
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
    dead_lettered_at: datetime


class DeadLettersPublic(Page[DeadLetterPublic]):
    as_of: datetime | None
