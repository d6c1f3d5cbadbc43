"""Meters: the control plane's meter rows (created, relabelled, archived) and the rules'
:class:`~billing.rules.meters.Meter` of each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import MeterCreate, MeterUpdate
from billing.control_plane.models import Meter as MeterRow
from billing.errors import Conflict, Invalid
from billing.rules.events import utc_now
from billing.rules.meters import Aggregation, Meter, MeterDefinitionError
from billing.services.rows import get_row


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


def list_meters(session: Session, include_archived: bool = False) -> list[MeterRow]:
    query = select(MeterRow).order_by(MeterRow.key)
    if not include_archived:
        query = query.where(MeterRow.archived_at.is_(None))
    return list(session.scalars(query).all())


def get_meter(session: Session, key: str) -> MeterRow:
    return get_row(session, MeterRow, key, f"meter {key!r} not found")


def check_known_meter(session: Session, key: str, field: str = "meter") -> None:
    """``Invalid`` on ``field`` unless there is a meter ``key`` (archived or not)."""
    if session.get(MeterRow, key) is None:
        raise Invalid(f"unknown meter {key!r}", field)


def create_meter(session: Session, body: MeterCreate) -> MeterRow:
    """A meter checked by the rules (``Meter``); its key is new."""
    try:
        meter = Meter(
            key=body.key,
            event_type=body.event_type,
            aggregation=Aggregation(body.aggregation),
            value_property=body.value_property,
            unit=body.unit,
            group_by=tuple(body.group_by),
            name=body.name,
        )
    except MeterDefinitionError as exc:
        raise Invalid(exc.message, field=exc.field) from None
    if session.get(MeterRow, meter.key) is not None:
        raise Conflict(f"meter {meter.key!r} already exists")
    row = MeterRow.from_definition(meter)
    session.add(row)
    session.commit()
    return row


def update_meter(session: Session, key: str, body: MeterUpdate) -> MeterRow:
    """Rename or relabel a meter. What it counts is permanent: create a new meter instead."""
    row = get_meter(session, key)
    if body.name is not None:
        row.name = body.name
    if body.unit is not None:
        row.unit = body.unit
    session.commit()
    return row


def archive_meter(session: Session, key: str) -> MeterRow:
    """Its events are no longer accepted; its history stays."""
    row = get_meter(session, key)
    if row.archived_at is not None:
        raise Conflict(f"meter {key!r} is already archived")
    row.archived_at = utc_now()
    session.commit()
    return row
