"""Payment rules without Stripe or a database: minor units, idempotency keys, backoff,
the status machine and what a collection pass does for an invoice."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from adapters.stripe.gateway import WebhookRejected, verify_webhook
from billing.rules.payments import (
    Action,
    InvalidTransition,
    PaymentStatus,
    after_failure,
    check_transition,
    idempotency_key,
    next_action,
    retry_delay,
    status_event,
    to_minor_units,
)

T0 = datetime(2026, 10, 2, 8, 0)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("42.65", "USD", 4265),
        ("0.01", "EUR", 1),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
        ("19.90", "USD", 1990),
    ],
)
def test_amounts_in_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


def test_an_unrounded_amount_is_refused():
    with pytest.raises(ValueError, match="decimal places"):
        to_minor_units(Decimal("1.005"), "USD")


def test_idempotency_key_is_per_invoice_and_attempt():
    assert idempotency_key("inv_ab12cd34", 1) == "billing-inv_ab12cd34-attempt-1"
    assert idempotency_key("inv_ab12cd34", 1) == idempotency_key("inv_ab12cd34", 1)
    assert idempotency_key("inv_ab12cd34", 2) != idempotency_key("inv_ab12cd34", 1)
    with pytest.raises(ValueError):
        idempotency_key("inv_ab12cd34", 0)


def test_backoff_doubles():
    assert [retry_delay(n, 24) for n in (1, 2, 3)] == [
        timedelta(hours=24),
        timedelta(hours=48),
        timedelta(hours=96),
    ]
    assert retry_delay(1, 0.5) == timedelta(minutes=30)


def test_failure_is_retried_then_uncollectible():
    first = after_failure(1, T0, max_attempts=3, base_hours=24)
    assert first.status == PaymentStatus.PAYMENT_FAILED
    assert first.next_retry_at == T0 + timedelta(hours=24)
    second = after_failure(2, T0, max_attempts=3, base_hours=24)
    assert second.next_retry_at == T0 + timedelta(hours=48)
    last = after_failure(3, T0, max_attempts=3, base_hours=24)
    assert last.status == PaymentStatus.UNCOLLECTIBLE and last.next_retry_at is None


def test_transitions():
    check_transition("pending", "processing")
    check_transition("processing", "paid")
    check_transition("payment_failed", "processing")
    for current, new in (("paid", "processing"), ("uncollectible", "paid"), ("pending", "pending")):
        with pytest.raises(InvalidTransition):
            check_transition(current, new)


@pytest.mark.parametrize(
    ("status", "attempts", "open_attempt", "retry_at", "expected"),
    [
        ("pending", 0, False, None, Action.ATTEMPT),
        ("requires_payment_method", 0, False, None, Action.ATTEMPT),
        ("processing", 1, False, None, Action.NONE),
        ("processing", 1, True, None, Action.RECOVER),
        ("payment_failed", 1, False, T0 + timedelta(hours=1), Action.NONE),
        ("payment_failed", 1, False, T0, Action.ATTEMPT),
        ("payment_failed", 3, False, T0, Action.NONE),
        ("paid", 1, False, None, Action.NONE),
        ("uncollectible", 3, False, None, Action.NONE),
    ],
)
def test_next_action(status, attempts, open_attempt, retry_at, expected):
    assert next_action(status, attempts, open_attempt, retry_at, T0, max_attempts=3) == expected


def test_status_event_is_a_cloudevent_with_a_stable_id():
    event = status_event(
        invoice_id="inv_1",
        tenant_id="tenant-a",
        invoice_number="INV-2026-000001",
        status="paid",
        previous_status="processing",
        attempt=1,
        amount=Decimal("42.65"),
        currency="USD",
        payment_intent_id="pi_1",
        occurred_at=T0,
    )
    assert event["specversion"] == "1.0" and event["type"] == "billing.invoice.paid"
    assert event["id"] == "inv_1:paid:1" and event["subject"] == "tenant-a"
    assert event["time"] == "2026-10-02T08:00:00.000000Z"
    assert event["data"]["amount"] == "42.65"


def test_webhook_signature_checks():
    import hashlib
    import hmac
    import time

    payload = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'

    def sign(t: int, secret: str = "whsec_test") -> str:
        mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256)
        return f"t={t},v1={mac.hexdigest()}"

    now = int(time.time())
    assert verify_webhook(payload, sign(now), "whsec_test")["id"] == "evt_1"
    for bad in (None, "", sign(now, "whsec_other"), sign(now - 301), "t=1,v1=00"):
        with pytest.raises(WebhookRejected):
            verify_webhook(payload, bad, "whsec_test")
    with pytest.raises(WebhookRejected):
        verify_webhook(payload, sign(now), "")
