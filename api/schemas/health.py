"""Response schemas (``*Public``): service status."""

from __future__ import annotations

from pydantic import BaseModel, Field

from billing.timeutil import UtcDateTime


class StatusPublic(BaseModel):
    status: str
    control_plane: str
    snapshot: str | None
    published_at: UtcDateTime | None
    tables: list[str]
    payment_collection: str = Field(
        description="`on` (Stripe key set) or why Stripe collection is off"
    )
