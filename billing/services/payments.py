"""Payment state for finalized invoices: status changes and attempt outcomes, Stripe webhook
events, status CloudEvents published from the outbox. Collection itself (customers,
PaymentIntents, retries) is ``billing.services.payment_collection``; rules (keys, amounts,
backoff, transitions) live in ``billing.rules.payments``."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.control_plane.db import session_factory, session_scope
from billing.control_plane.models import (
    InvoicePayment,
    PaymentAttempt,
    PaymentStatusEvent,
    StripeWebhookEvent,
)
from billing.ports import (
    BrokerUnavailable,
    MessageProducer,
)
from billing.rules.events import utc_now
from billing.rules.payments import (
    TERMINAL,
    AttemptStatus,
    PaymentStatus,
    after_failure,
    can_transition,
    status_event,
)
from billing.settings import Settings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- state changes
def set_status(
    session: Session,
    payment: InvoicePayment,
    status: PaymentStatus,
    now: datetime,
    attempt: int | None = None,
    payment_intent_id: str | None = None,
) -> bool:
    """Move the invoice to ``status`` (if allowed) and queue its CloudEvent."""
    previous = payment.status
    if previous == status or not can_transition(previous, status):
        return False
    payment.status = status
    payment.updated_at = now
    event = status_event(
        invoice_id=payment.invoice_id,
        tenant_id=payment.tenant_id,
        invoice_number=payment.invoice_number,
        status=status,
        previous_status=previous,
        attempt=attempt,
        amount=payment.amount,
        currency=payment.currency,
        payment_intent_id=payment_intent_id,
        occurred_at=now,
    )
    if session.get(PaymentStatusEvent, event["id"]) is None:
        session.add(
            PaymentStatusEvent(
                id=event["id"], invoice_id=payment.invoice_id, payload=event, created_at=now
            )
        )
    log.info("invoice %s: %s -> %s", payment.invoice_id, previous, status)
    return True


def apply_outcome(
    session: Session,
    settings: Settings,
    *,
    invoice_id: str,
    attempt_number: int,
    payment_intent_id: str | None,
    succeeded: bool,
    failure_code: str | None,
    failure_message: str | None,
    now: datetime,
) -> bool:
    """Record a PaymentIntent's outcome (from a webhook or reconciliation); False if it was
    already recorded or is unknown."""
    attempt = session.scalars(
        select(PaymentAttempt).where(
            PaymentAttempt.invoice_id == invoice_id,
            PaymentAttempt.attempt_number == attempt_number,
        )
    ).first()
    if attempt is None or attempt.status in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED):
        return False
    payment = session.get(InvoicePayment, invoice_id)
    attempt.status = AttemptStatus.SUCCEEDED if succeeded else AttemptStatus.FAILED
    attempt.payment_intent_id = attempt.payment_intent_id or payment_intent_id
    attempt.failure_code = None if succeeded else failure_code
    attempt.failure_message = None if succeeded else (failure_message or "")[:500]
    attempt.updated_at = now
    if payment is None or payment.status in TERMINAL:
        return True
    if succeeded:
        payment.next_retry_at = None
        payment.last_error = None
        set_status(session, payment, PaymentStatus.PAID, now, attempt_number, payment_intent_id)
    elif attempt_number == payment.attempts:  # an older attempt's failure changes nothing
        outcome = after_failure(
            attempt_number,
            now,
            settings.payment_max_attempts,
            settings.payment_retry_backoff_hours,
        )
        payment.next_retry_at = outcome.next_retry_at
        payment.last_error = f"{failure_code or 'failed'}: {failure_message or ''}"[:500]
        set_status(session, payment, outcome.status, now, attempt_number, payment_intent_id)
    return True


class WebhookReplay(ValueError):
    pass


def handle_webhook_event(settings: Settings, event: dict, now: datetime) -> str:
    """Apply a verified Stripe event once; raise :class:`WebhookReplay` for an event id
    already processed. Returns what was done."""
    event_id, event_type = event["id"], str(event.get("type", ""))
    with session_scope(settings) as session:
        if session.get(StripeWebhookEvent, event_id) is not None:
            raise WebhookReplay(f"event {event_id} was already processed")
        session.add(StripeWebhookEvent(event_id=event_id, event_type=event_type, received_at=now))
        try:
            session.flush()
        except IntegrityError as exc:  # the same event, concurrently
            raise WebhookReplay(f"event {event_id} was already processed") from exc
        if event_type not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            return "ignored"
        intent = (event.get("data") or {}).get("object") or {}
        metadata = intent.get("metadata") or {}
        invoice_id, attempt = metadata.get("invoice_id"), metadata.get("attempt")
        if not invoice_id or not str(attempt or "").isdigit():
            return "ignored: not a payment of this warehouse"
        error = intent.get("last_payment_error") or {}
        applied = apply_outcome(
            session,
            settings,
            invoice_id=invoice_id,
            attempt_number=int(attempt),
            payment_intent_id=intent.get("id"),
            succeeded=event_type == "payment_intent.succeeded",
            failure_code=error.get("code") or error.get("decline_code"),
            failure_message=error.get("message"),
            now=now,
        )
    return "applied" if applied else "already recorded"


# ---------------------------------------------------------------------------- publishing
_publish_lock = threading.Lock()


def publish_status_events(
    settings: Settings, producer: MessageProducer, timeout: float | None = None
) -> int:
    """Send the queued payment-status CloudEvents to ``billing-events`` (at least once; the
    event id is stable, so consumers drop the rare duplicate of two processes publishing at
    once). Returns how many were sent; Kafka being down leaves them queued."""
    with _publish_lock, session_factory(settings)() as session:
        pending = session.scalars(
            select(PaymentStatusEvent)
            .where(PaymentStatusEvent.published_at.is_(None))
            .order_by(PaymentStatusEvent.created_at, PaymentStatusEvent.id)
        ).all()
        if not pending:
            return 0
        try:
            producer.send(
                settings.billing_events_topic,
                [(e.payload["subject"].encode(), orjson.dumps(e.payload)) for e in pending],
                timeout=timeout,
            )
        except BrokerUnavailable as exc:
            log.warning("payment status events stay queued: %s", exc)
            return 0
        now = utc_now()
        for e in pending:
            e.published_at = now
        session.commit()
        return len(pending)
