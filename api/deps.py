"""Typed dependencies: settings, control-plane sessions, the serving reader, the caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.kafka import EventProducer
from adapters.warehouse.serving import ServingReader
from billing import security
from billing.control_plane.db import session_factory
from billing.control_plane.models import ApiKey
from billing.control_plane.models import Meter as MeterRow
from billing.errors import NotFound
from billing.rules.events import EventValidator
from billing.rules.meters import Meter
from billing.services.meters import to_meter
from billing.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")


def get_clock(request: Request) -> Callable[[], datetime]:
    """The time source (naive UTC); tests set ``app.state.clock`` to a fixed time."""
    return request.app.state.clock


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    session = session_factory(request.app.state.settings)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_reader(request: Request) -> ServingReader:
    return request.app.state.reader


ReaderDep = Annotated[ServingReader, Depends(get_reader)]


def get_producer(request: Request) -> EventProducer:
    state = request.app.state
    with state.lock:
        if state.producer is None:
            state.producer = EventProducer(state.settings)
        return state.producer


ProducerDep = Annotated[EventProducer, Depends(get_producer)]


def get_caller(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
) -> security.Caller:
    presented = header_key or (bearer.credentials if bearer else None)
    if not presented:
        raise HTTPException(
            401,
            "an API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if security.is_admin_key(presented, request.app.state.admin_key):
        return security.Caller(is_admin=True)
    parts = security.split_tenant_key(presented)
    if parts is not None:
        key_id, secret = parts
        row = session.get(ApiKey, key_id)
        if row is not None and row.revoked_at is None and security.matches(secret, row.secret_hash):
            return security.Caller(is_admin=False, tenant_id=row.tenant_id, key_id=row.id)
    raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})


CallerDep = Annotated[security.Caller, Depends(get_caller)]


def require_admin(caller: CallerDep) -> security.Caller:
    if not caller.is_admin:
        raise HTTPException(403, "this endpoint needs the admin key")
    return caller


AdminDep = Annotated[security.Caller, Depends(require_admin)]


OWN_TENANT_ONLY = "this key may read only its own tenant"


def scoped_tenant(caller: security.Caller, tenant_id: str | None) -> str | None:
    """The tenant a request may read: a tenant key sees only its own tenant. Any other tenant
    id (in a path or a filter) gets the same 403, which names nobody: whether that tenant
    exists is not revealed. Another tenant's resources by their own id answer 404, as an id
    that does not exist does (see ``security.Caller.can_see``)."""
    if caller.is_admin:
        return tenant_id
    if tenant_id is not None and tenant_id != caller.tenant_id:
        raise HTTPException(403, OWN_TENANT_ONLY)
    return caller.tenant_id


def check_visible(caller: security.Caller, tenant_id: str, missing: str) -> None:
    """``NotFound(missing)`` unless the caller may see ``tenant_id``'s resources: another
    tenant's resource answers 404, as one that does not exist (see ``scoped_tenant``)."""
    if not caller.can_see(tenant_id):
        raise NotFound(missing)


class MeterCache:
    """Active meters for validating ingested events, refreshed every few seconds, with one
    event validator per thread for the current set of meters."""

    def __init__(self, ttl: float = 5.0, max_future: timedelta = timedelta(minutes=5)):
        self.ttl = ttl
        self.max_future = max_future
        self._at = 0.0
        self._meters: tuple[Meter, ...] = ()
        self._local = threading.local()

    def meters(self, session: Session) -> tuple[Meter, ...]:
        if time.monotonic() - self._at > self.ttl:
            rows = session.scalars(select(MeterRow).where(MeterRow.archived_at.is_(None))).all()
            self._meters = tuple(to_meter(r) for r in rows)
            self._at = time.monotonic()
        return self._meters

    def validator(self, session: Session) -> EventValidator:
        meters = self.meters(session)
        cached = getattr(self._local, "validator", None)
        if cached is None or cached.meters != meters:
            if cached is not None:
                cached.close()
            cached = EventValidator(meters, self.max_future)
            self._local.validator = cached
        return cached

    def invalidate(self) -> None:
        self._at = 0.0


def get_meter_cache(request: Request) -> MeterCache:
    return request.app.state.meter_cache


MeterCacheDep = Annotated[MeterCache, Depends(get_meter_cache)]
