"""Payments: pipeline-owned state written by the payment collection job and the Stripe webhook."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base
from billing.rules.events import utc_now


class StripeCustomer(Base):
    """The one Stripe customer of a tenant (created on first need, never twice)."""

    __tablename__ = "stripe_customers"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class InvoicePayment(Base):
    """The payment status of a finalized invoice (see ``billing.rules.payments.PaymentStatus``)."""

    __tablename__ = "invoice_payments"

    invoice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class PaymentAttempt(Base):
    """One PaymentIntent, recorded *before* the Stripe call (outbox): a crash between the call
    and recording its result leaves a ``started`` attempt that the next run recovers."""

    __tablename__ = "payment_attempts"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice_payments.invoice_id"), index=True)
    attempt_number: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(Integer)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    failure_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class StripeWebhookEvent(Base):
    """Stripe event ids already processed (each event is applied once)."""

    __tablename__ = "stripe_webhook_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class PaymentStatusEvent(Base):
    """Outbox of payment-status CloudEvents for Kafka (``billing-events``), written in the
    transaction that changes the status and published afterwards."""

    __tablename__ = "payment_status_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
