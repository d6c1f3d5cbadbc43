"""Response schemas (``*Public``): payments (Stripe customers, webhooks)."""

from __future__ import annotations

from pydantic import BaseModel

from billing.timeutil import UtcDateTime


class StripeCustomerPublic(BaseModel):
    tenant_id: str
    customer_id: str
    created_at: UtcDateTime


class WebhookResult(BaseModel):
    received: bool
    event_id: str
    result: str
