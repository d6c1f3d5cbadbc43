"""Response schemas (``*Public``): invoices."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import Page
from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class InvoiceLinePublic(BaseModel):
    line_number: int
    kind: str
    description: str
    service_period_start: date
    meter: str | None
    quantity: Plain | None
    amount: str


class PaymentAttemptPublic(BaseModel):
    attempt: int
    status: str
    payment_intent_id: str | None
    amount_minor: int
    failure_code: str | None
    failure_message: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class InvoicePublic(BaseModel):
    id: str
    number: str | None
    status: str
    subscription_id: str
    tenant_id: str
    period_start: date
    period_end: date
    issue_number: int
    currency: str
    subtotal: str
    discount: str
    tax_rate_percentage: Plain
    tax: str
    credits: str
    total: str
    finalized_at: UtcDateTime | None
    voided_at: UtcDateTime | None
    void_reason: str | None
    payment_status: str | None = Field(
        None,
        description="Stripe collection: pending, requires_payment_method, processing, paid, "
        "payment_failed, uncollectible; null for drafts and invoices not collected.",
    )
    attempts: list[PaymentAttemptPublic] = Field(default_factory=list)
    lines: list[InvoiceLinePublic] | None = None


class InvoicesPublic(Page[InvoicePublic]):
    as_of: UtcDateTime | None
