"""Payment collection rules, in plain Python (no Stripe, database or Dagster here).

* amounts go to Stripe in the currency's minor unit (``42.65`` USD -> ``4265``);
* every attempt has an idempotency key derived from the invoice and the attempt number, so a
  retried call (a crash, a re-run) can never create a second charge for the same attempt;
* a failed attempt is retried after ``base * 2^(attempt - 1)`` hours, and the invoice becomes
  ``uncollectible`` after the configured number of attempts;
* the invoice's payment status moves only along :data:`TRANSITIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from billing.rules.pricing import minor_units


class PaymentStatus(StrEnum):
    """The payment status of a finalized invoice."""

    PENDING = "pending"  # not attempted yet
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"  # the tenant has no usable card
    PROCESSING = "processing"  # a PaymentIntent is out; its webhook decides
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"  # retried once its backoff has elapsed
    UNCOLLECTIBLE = "uncollectible"  # out of attempts


class AttemptStatus(StrEnum):
    STARTED = "started"  # recorded before the Stripe call (outbox)
    SUBMITTED = "submitted"  # the PaymentIntent exists; its id is recorded
    SUCCEEDED = "succeeded"
    FAILED = "failed"


S = PaymentStatus
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.PENDING: frozenset({S.PROCESSING, S.REQUIRES_PAYMENT_METHOD, S.PAID, S.PAYMENT_FAILED}),
    S.REQUIRES_PAYMENT_METHOD: frozenset({S.PROCESSING, S.PAID, S.PAYMENT_FAILED}),
    S.PROCESSING: frozenset({S.PAID, S.PAYMENT_FAILED, S.UNCOLLECTIBLE, S.REQUIRES_PAYMENT_METHOD}),
    S.PAYMENT_FAILED: frozenset({S.PROCESSING, S.REQUIRES_PAYMENT_METHOD, S.PAID, S.UNCOLLECTIBLE}),
    S.PAID: frozenset(),
    S.UNCOLLECTIBLE: frozenset(),
}
TERMINAL = frozenset({S.PAID, S.UNCOLLECTIBLE})


class InvalidTransition(ValueError):
    pass


def check_transition(current: PaymentStatus | str, new: PaymentStatus | str) -> None:
    current, new = PaymentStatus(current), PaymentStatus(new)
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"payment status cannot move from {current} to {new}")


def can_transition(current: PaymentStatus | str, new: PaymentStatus | str) -> bool:
    return PaymentStatus(new) in TRANSITIONS[PaymentStatus(current)]


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The amount as an integer count of the currency's minor unit; it must already be rounded
    to that unit (invoices are)."""
    places = minor_units(currency)
    scaled = Decimal(amount).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more than {places} decimal places")
    return int(scaled)


def idempotency_key(invoice_id: str, attempt: int) -> str:
    """Stripe's Idempotency-Key for an attempt: the same key for every retry of one attempt."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    return f"billing-{invoice_id}-attempt-{attempt}"


def retry_delay(attempt: int, base_hours: float) -> timedelta:
    """How long after failed attempt ``attempt`` the next one is due: base, 2x base, 4x..."""
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    return timedelta(hours=base_hours * 2 ** (attempt - 1))


@dataclass(frozen=True)
class FailureOutcome:
    status: PaymentStatus
    next_retry_at: datetime | None


def after_failure(
    attempt: int, failed_at: datetime, max_attempts: int, base_hours: float
) -> FailureOutcome:
    """The invoice's state after attempt ``attempt`` failed."""
    if attempt >= max_attempts:
        return FailureOutcome(PaymentStatus.UNCOLLECTIBLE, None)
    return FailureOutcome(
        PaymentStatus.PAYMENT_FAILED, failed_at + retry_delay(attempt, base_hours)
    )


class Action(StrEnum):
    NONE = "none"
    ATTEMPT = "attempt"  # start attempt ``attempts + 1``
    RECOVER = "recover"  # an attempt was recorded but its outcome of the Stripe call was not


def next_action(
    status: PaymentStatus | str,
    attempts: int,
    open_attempt: bool,
    next_retry_at: datetime | None,
    now: datetime,
    max_attempts: int,
) -> Action:
    """What the collection run does for one invoice.

    ``open_attempt``: the last attempt is still ``started`` (a crash between recording it and
    recording the Stripe call's result), to be recovered before anything else.
    """
    status = PaymentStatus(status)
    if open_attempt:
        return Action.RECOVER
    if status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_PAYMENT_METHOD):
        return Action.ATTEMPT if attempts < max_attempts else Action.NONE
    if status == PaymentStatus.PAYMENT_FAILED:
        due = next_retry_at is None or next_retry_at <= now
        return Action.ATTEMPT if due and attempts < max_attempts else Action.NONE
    return Action.NONE


def status_event(
    *,
    invoice_id: str,
    tenant_id: str,
    invoice_number: str | None,
    status: str,
    previous_status: str | None,
    attempt: int | None,
    amount: Decimal,
    currency: str,
    payment_intent_id: str | None,
    occurred_at: datetime,
) -> dict:
    """A CloudEvent 1.0 announcing an invoice's new payment status (topic billing-events)."""
    return {
        "specversion": "1.0",
        "id": f"{invoice_id}:{status}:{attempt or 0}",
        "source": "billing-warehouse/payments",
        "type": f"billing.invoice.{status}",
        "subject": tenant_id,
        "time": occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": "application/json",
        "data": {
            "invoice_id": invoice_id,
            "invoice_number": invoice_number,
            "tenant_id": tenant_id,
            "status": status,
            "previous_status": previous_status,
            "attempt": attempt,
            "amount": str(amount),
            "currency": currency,
            "payment_intent_id": payment_intent_id,
        },
    }
