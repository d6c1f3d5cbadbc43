"""Service status: what data is being served and whether the control plane answers."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from adapters.warehouse.serving import NoSnapshot
from api.deps import CallerDep, ReaderDep, SessionDep, SettingsDep
from api.schemas.health import StatusPublic

router = APIRouter(tags=["status"])


@router.get("/status", response_model=StatusPublic)
def status(_caller: CallerDep, session: SessionDep, reader: ReaderDep, settings: SettingsDep):
    """The serving snapshot in use and the state of the control plane."""
    try:
        session.execute(text("select 1"))
        control = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        control = f"unavailable: {type(exc).__name__}"
    payments = "on" if settings.stripe_enabled else "off: STRIPE_API_KEY is not set"
    try:
        info = reader.snapshot()
    except NoSnapshot:
        return StatusPublic(
            status="no data published yet",
            control_plane=control,
            snapshot=None,
            published_at=None,
            tables=[],
            payment_collection=payments,
        )
    return StatusPublic(
        status="ok",
        control_plane=control,
        snapshot=info.name,
        published_at=info.published_at,
        tables=list(info.tables),
        payment_collection=payments,
    )
