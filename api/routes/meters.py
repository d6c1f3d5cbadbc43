"""Meters: how usage events become quantities. Reading needs any key; changes need admin."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from api.deps import AdminDep, CallerDep, MeterCacheDep, SessionDep
from api.schemas.meters import MeterPublic, MetersPublic
from billing.control_plane.commands import MeterCreate, MeterUpdate
from billing.control_plane.models import Meter as MeterRow
from billing.errors import Invalid
from billing.rules.events import utc_now
from billing.rules.meters import Aggregation, Meter, MeterDefinitionError

router = APIRouter(prefix="/meters", tags=["meters"])


@router.get("", response_model=MetersPublic)
def list_meters(session: SessionDep, _caller: CallerDep, include_archived: bool = False):
    query = select(MeterRow).order_by(MeterRow.key)
    if not include_archived:
        query = query.where(MeterRow.archived_at.is_(None))
    rows = session.scalars(query).all()
    return MetersPublic(data=[MeterPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/{key}", response_model=MeterPublic)
def get_meter(key: str, session: SessionDep, _caller: CallerDep):
    row = session.get(MeterRow, key)
    if row is None:
        raise HTTPException(404, f"meter {key!r} not found")
    return row


@router.post("", response_model=MeterPublic, status_code=201)
def create_meter(body: MeterCreate, session: SessionDep, _admin: AdminDep, cache: MeterCacheDep):
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
        raise HTTPException(409, f"meter {meter.key!r} already exists")
    row = MeterRow.from_definition(meter)
    session.add(row)
    session.commit()
    cache.invalidate()
    return row


@router.patch("/{key}", response_model=MeterPublic)
def update_meter(key: str, body: MeterUpdate, session: SessionDep, _admin: AdminDep):
    """Rename or relabel a meter. What it counts is permanent: create a new meter instead."""
    row = session.get(MeterRow, key)
    if row is None:
        raise HTTPException(404, f"meter {key!r} not found")
    if body.name is not None:
        row.name = body.name
    if body.unit is not None:
        row.unit = body.unit
    session.commit()
    return row


@router.delete("/{key}", response_model=MeterPublic)
def archive_meter(key: str, session: SessionDep, _admin: AdminDep, cache: MeterCacheDep):
    """Archive a meter: its events are no longer accepted; its history stays."""
    row = session.get(MeterRow, key)
    if row is None:
        raise HTTPException(404, f"meter {key!r} not found")
    if row.archived_at is not None:
        raise HTTPException(409, f"meter {key!r} is already archived")
    row.archived_at = utc_now()
    session.commit()
    cache.invalidate()
    return row
