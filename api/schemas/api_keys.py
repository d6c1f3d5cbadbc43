"""Response schemas (``*Public``): api keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from billing.timeutil import UtcDateTime


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key. Shown once; only a hash is stored.")


class ApiKeysPublic(BaseModel):
    data: list[ApiKeyPublic]
    count: int
