"""Meters: how usage events become quantities. Reading needs any key; changes need admin."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, CallerDep, MeterCacheDep, SessionDep
from api.schemas.meters import MeterPublic, MetersPublic
from billing.control_plane.commands import MeterCreate, MeterUpdate
from billing.services import meters as logic

router = APIRouter(prefix="/meters", tags=["meters"])


@router.get("", response_model=MetersPublic)
def list_meters(session: SessionDep, _caller: CallerDep, include_archived: bool = False):
    rows = logic.list_meters(session, include_archived)
    return MetersPublic(data=[MeterPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/{key}", response_model=MeterPublic)
def get_meter(key: str, session: SessionDep, _caller: CallerDep):
    return logic.get_meter(session, key)


@router.post("", response_model=MeterPublic, status_code=201)
def create_meter(body: MeterCreate, session: SessionDep, _admin: AdminDep, cache: MeterCacheDep):
    row = logic.create_meter(session, body)
    cache.invalidate()
    return row


@router.patch("/{key}", response_model=MeterPublic)
def update_meter(key: str, body: MeterUpdate, session: SessionDep, _admin: AdminDep):
    """Rename or relabel a meter. What it counts is permanent: create a new meter instead."""
    return logic.update_meter(session, key, body)


@router.delete("/{key}", response_model=MeterPublic)
def archive_meter(key: str, session: SessionDep, _admin: AdminDep, cache: MeterCacheDep):
    """Archive a meter: its events are no longer accepted; its history stays."""
    row = logic.archive_meter(session, key)
    cache.invalidate()
    return row
