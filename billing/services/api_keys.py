"""Tenant API keys: issued (the secret is returned once, only its hash kept) and revoked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import security
from billing.control_plane.commands import ApiKeyCreate
from billing.control_plane.models import ApiKey
from billing.errors import NotFound
from billing.rules.events import utc_now


def issue_key(session: Session, body: ApiKeyCreate) -> tuple[ApiKey, str]:
    """A new key of a tenant: (its row, the secret to show once)."""
    key_id, key, secret_hash = security.new_tenant_key()
    row = ApiKey(id=key_id, tenant_id=body.tenant_id, name=body.name, secret_hash=secret_hash)
    session.add(row)
    session.commit()
    return row, key


def list_keys(session: Session, tenant_id: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    return list(session.scalars(query).all())


def revoke_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key (once; revoking it again changes nothing)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        session.commit()
    return row
