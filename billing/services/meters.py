"""Meters: the control plane's meter rows as the rules' :class:`~billing.rules.meters.Meter`."""

from __future__ import annotations

from billing.control_plane.models import Meter as MeterRow
from billing.rules.meters import Aggregation, Meter


def to_meter(row: MeterRow) -> Meter:
    return Meter(
        key=row.key,
        event_type=row.event_type,
        aggregation=Aggregation(row.aggregation),
        value_property=row.value_property,
        unit=row.unit,
        group_by=tuple(row.group_by or ()),
        name=row.name,
    )
