"""Response schemas (``*Public``): meters."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from billing.timeutil import UtcDateTime


class MeterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    name: str
    event_type: str
    aggregation: str
    value_property: str | None
    unit: str
    group_by: list[str]
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class MetersPublic(BaseModel):
    data: list[MeterPublic]
    count: int
