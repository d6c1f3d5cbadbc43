"""Meters: how usage events become billable quantities (as OpenMeter and Lago define them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Aggregation(StrEnum):
    SUM = "sum"
    COUNT = "count"
    MAX = "max"
    UNIQUE_COUNT = "unique_count"
    LATEST = "latest"


NUMERIC_AGGREGATIONS = frozenset({Aggregation.SUM, Aggregation.MAX, Aggregation.LATEST})

METER_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PROPERTY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")


class MeterDefinitionError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter definition.

    ``value_property`` names a top-level key of the event's ``data``; ``count`` ignores it,
    every other aggregation requires it. ``group_by`` names further ``data`` keys that split the
    meter's usage into breakdown rows.
    """

    key: str
    event_type: str
    aggregation: Aggregation
    value_property: str | None = None
    unit: str = "unit"
    group_by: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""

    def __post_init__(self) -> None:
        validate_meter(self)


def validate_meter(meter: Meter) -> None:
    if not METER_KEY_RE.match(meter.key or ""):
        raise MeterDefinitionError(
            "key", "must be lowercase letters, digits and underscores, starting with a letter"
        )
    if not EVENT_TYPE_RE.match(meter.event_type or ""):
        raise MeterDefinitionError("event_type", "must be a non-empty CloudEvents type")
    try:
        Aggregation(meter.aggregation)
    except ValueError:
        raise MeterDefinitionError(
            "aggregation", f"must be one of {', '.join(a.value for a in Aggregation)}"
        ) from None
    if meter.aggregation != Aggregation.COUNT and not meter.value_property:
        raise MeterDefinitionError(
            "value_property", f"is required for the {meter.aggregation} aggregation"
        )
    if meter.value_property is not None and not PROPERTY_RE.match(meter.value_property):
        raise MeterDefinitionError(
            "value_property", "must name a top-level property of the event data"
        )
    for prop in meter.group_by:
        if not PROPERTY_RE.match(prop):
            raise MeterDefinitionError("group_by", f"{prop!r} is not a valid property name")
    if len(set(meter.group_by)) != len(meter.group_by):
        raise MeterDefinitionError("group_by", "lists a property twice")
    if not meter.unit or len(meter.unit) > 32:
        raise MeterDefinitionError("unit", "must be 1 to 32 characters")


def meters_by_event_type(meters: list[Meter]) -> dict[str, tuple[Meter, ...]]:
    index: dict[str, list[Meter]] = {}
    for meter in meters:
        index.setdefault(meter.event_type, []).append(meter)
    return {event_type: tuple(ms) for event_type, ms in index.items()}


# The meters the demo and the benchmark use; tests build their own.
DEMO_METERS: tuple[Meter, ...] = (
    Meter("api_calls", "api.request", Aggregation.COUNT, None, "call", ("endpoint",), "API calls"),
    Meter(
        "api_active_users",
        "api.request",
        Aggregation.UNIQUE_COUNT,
        "user_id",
        "user",
        (),
        "Monthly active API users",
    ),
    Meter("egress_gb", "api.request", Aggregation.SUM, "response_gb", "GB", (), "Egress"),
    Meter(
        "compute_seconds",
        "compute.job",
        Aggregation.SUM,
        "cpu_seconds",
        "s",
        ("region",),
        "Compute time",
    ),
    Meter(
        "peak_concurrency",
        "compute.job",
        Aggregation.MAX,
        "concurrency",
        "job",
        (),
        "Peak concurrent jobs",
    ),
    Meter("storage_gb", "storage.snapshot", Aggregation.LATEST, "gb", "GB", (), "Stored data"),
)
