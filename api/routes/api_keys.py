"""Tenant API keys, issued and revoked with the admin key. Secrets are shown once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from api.deps import AdminDep, SessionDep
from api.schemas.api_keys import ApiKeyCreated, ApiKeyPublic, ApiKeysPublic
from billing import security
from billing.control_plane.commands import ApiKeyCreate
from billing.control_plane.models import ApiKey
from billing.rules.events import utc_now

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", response_model=ApiKeyCreated, status_code=201)
def issue_key(body: ApiKeyCreate, session: SessionDep, _admin: AdminDep):
    key_id, key, secret_hash = security.new_tenant_key()
    row = ApiKey(id=key_id, tenant_id=body.tenant_id, name=body.name, secret_hash=secret_hash)
    session.add(row)
    session.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.get("", response_model=ApiKeysPublic)
def list_keys(session: SessionDep, _admin: AdminDep, tenant_id: str | None = None):
    query = select(ApiKey).order_by(ApiKey.created_at)
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    rows = session.scalars(query).all()
    return ApiKeysPublic(data=[ApiKeyPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete("/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, session: SessionDep, _admin: AdminDep):
    row = session.get(ApiKey, key_id)
    if row is None:
        raise HTTPException(404, f"API key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        session.commit()
    return row
