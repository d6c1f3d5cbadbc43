"""Caller identity: the admin key from settings, or tenant keys stored hashed.

A tenant key looks like ``bk_<id>_<secret>``. Only SHA-256(secret) is stored; the id finds the
row and the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "bk_"


@dataclass(frozen=True)
class Caller:
    is_admin: bool
    tenant_id: str | None = None
    key_id: str | None = None

    def can_see(self, tenant_id: str) -> bool:
        return self.is_admin or self.tenant_id == tenant_id


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_tenant_key() -> tuple[str, str, str]:
    """Return ``(key_id, full_key, secret_hash)``."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}", hash_secret(secret)


def split_tenant_key(key: str) -> tuple[str, str] | None:
    if not key.startswith(KEY_PREFIX):
        return None
    body = key[len(KEY_PREFIX) :]
    key_id, sep, secret = body.partition("_")
    if not sep or len(key_id) != 16 or not secret:
        return None
    return key_id, secret


def matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def is_admin_key(presented: str, admin_key: str) -> bool:
    return bool(admin_key) and hmac.compare_digest(presented.encode(), admin_key.encode())
