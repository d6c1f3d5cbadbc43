"""Tenant API keys, issued and revoked with the admin key. Secrets are shown once."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, SessionDep
from api.schemas.api_keys import ApiKeyCreated, ApiKeyPublic, ApiKeysPublic
from billing.control_plane.commands import ApiKeyCreate
from billing.services import api_keys as logic

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", response_model=ApiKeyCreated, status_code=201)
def issue_key(body: ApiKeyCreate, session: SessionDep, _admin: AdminDep):
    row, key = logic.issue_key(session, body)
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.get("", response_model=ApiKeysPublic)
def list_keys(session: SessionDep, _admin: AdminDep, tenant_id: str | None = None):
    rows = logic.list_keys(session, tenant_id)
    return ApiKeysPublic(data=[ApiKeyPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete("/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, session: SessionDep, _admin: AdminDep):
    return logic.revoke_key(session, key_id)
