"""Payment collection for finalized invoices: Stripe customers, PaymentIntents recorded
outbox-style, retries, reconciliation with Stripe. Outcomes, webhooks and status CloudEvents are
applied in ``billing.services.payments``.

Used by the Dagster payment job (collection, retries, reconciliation) and by the webhook
route. Rules (keys, amounts, backoff, transitions) live in ``billing.rules.payments``; Stripe calls
go through a ``billing.ports.PaymentGateway`` (``adapters.stripe.gateway``; wired in
``adapters.stripe.collection``).

No Stripe call is made inside a database transaction. For each attempt:

1. one transaction records the attempt as ``started`` (with its idempotency key) and moves the
   invoice to ``processing``;
2. the PaymentIntent is created (idempotency key = invoice + attempt number);
3. another transaction records its id (``submitted``).

A crash between 2 and 3 leaves a ``started`` attempt. The next run first looks the
PaymentIntent up by metadata (invoice id and attempt) and records it, and only calls Stripe
again, with the same idempotency key, when none exists: one charge per attempt, with or
without Stripe's idempotency (the emulator has none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.control_plane.db import session_factory, session_scope
from billing.control_plane.models import (
    InvoicePayment,
    InvoiceVoid,
    PaymentAttempt,
    StripeCustomer,
    Tenant,
)
from billing.ports import (
    BrokerUnavailable,
    IntentResult,
    MartReader,
    MessageProducer,
    NoSnapshot,
    PaymentGateway,
)
from billing.rules.events import utc_now
from billing.rules.payments import (
    Action,
    AttemptStatus,
    PaymentStatus,
    idempotency_key,
    next_action,
    to_minor_units,
)
from billing.services.payments import apply_outcome, publish_status_events, set_status
from billing.settings import Settings

log = logging.getLogger(__name__)

# A submitted attempt without a webhook after this long is checked with Stripe directly.
RECONCILE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class InvoiceToCollect:
    invoice_id: str
    invoice_number: str | None
    tenant_id: str
    currency: str
    amount: Decimal


@dataclass
class CollectionReport:
    attempted: list[str] = field(default_factory=list)  # "<invoice>#<attempt>"
    recovered: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    missing_payment_method: list[str] = field(default_factory=list)  # tenants
    errors: list[str] = field(default_factory=list)
    customers_created: list[str] = field(default_factory=list)  # tenants

    def as_dict(self) -> dict:
        return {k: sorted(set(v)) for k, v in self.__dict__.items()}


# ---------------------------------------------------------------------------- reading
def finalized_invoices(settings: Settings, reader: MartReader):
    """Finalized, non-void invoices with something to pay, from the current serving snapshot
    (published only after the invoice checks passed)."""
    try:
        rows, _ = reader.query(
            "select invoice_id, invoice_number, tenant_id, currency, total_amount "
            "from {fct_invoices} where status = 'finalized' and total_amount > 0 "
            "order by finalized_at, invoice_id"
        )
    except NoSnapshot:
        return []
    with session_factory(settings)() as session:
        voided = set(session.scalars(select(InvoiceVoid.invoice_id)).all())
    return [
        InvoiceToCollect(
            r["invoice_id"],
            r["invoice_number"],
            r["tenant_id"],
            r["currency"],
            Decimal(r["total_amount"]),
        )
        for r in rows
        if r["invoice_id"] not in voided
    ]


# ---------------------------------------------------------------------------- collection
class PaymentCollector:
    """One collection pass: new invoices, due retries, recovery of interrupted attempts and
    reconciliation of attempts whose webhook did not come."""

    def __init__(
        self,
        settings: Settings,
        gateway: PaymentGateway,
        producer: Callable[[], MessageProducer] | None = None,
        after_stripe_call: Callable[[str, int], None] | None = None,
    ):
        self.settings = settings
        self.gateway = gateway
        self.producer = producer  # opens a producer for the status events (None: they stay queued)
        self.after_stripe_call = after_stripe_call  # tests inject a crash here

    # -------------------------------------------------------------- customers
    def ensure_customer(self, tenant_id: str, report: CollectionReport) -> str:
        """The tenant's Stripe customer: the stored mapping, else one found by metadata,
        else a new one."""
        with session_factory(self.settings)() as session:
            mapped = session.get(StripeCustomer, tenant_id)
            if mapped is not None:
                return mapped.customer_id
            tenant = session.get(Tenant, tenant_id)
            name, email = (tenant.name, tenant.email) if tenant else (None, None)
        customer_id = self.gateway.find_customer(tenant_id)
        if customer_id is None:
            customer_id = self.gateway.create_customer(tenant_id, name, email)
            report.customers_created.append(tenant_id)
        with session_factory(self.settings)() as session:
            session.add(StripeCustomer(tenant_id=tenant_id, customer_id=customer_id))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return session.get(StripeCustomer, tenant_id).customer_id
        return customer_id

    # -------------------------------------------------------------- one pass
    def collect(
        self, invoices: list[InvoiceToCollect], now: datetime | None = None
    ) -> CollectionReport:
        now = now or utc_now()
        report = CollectionReport()
        for invoice in invoices:
            try:
                self._collect_one(invoice, now, report)
            except Exception as exc:  # noqa: BLE001 - one invoice must not stop the others
                log.exception("collecting %s failed", invoice.invoice_id)
                report.errors.append(f"{invoice.invoice_id}: {type(exc).__name__}: {exc}")
        self.reconcile(now, report)
        if self.producer is not None:
            producer = None
            try:
                producer = self.producer()
                publish_status_events(self.settings, producer)
            except BrokerUnavailable as exc:
                log.warning("payment status events stay queued: %s", exc)
            finally:
                if producer is not None:
                    producer.close()
        return report

    def _collect_one(self, invoice: InvoiceToCollect, now: datetime, report: CollectionReport):
        settings = self.settings
        with session_scope(settings) as session:
            payment = session.get(InvoicePayment, invoice.invoice_id)
            if payment is None:
                payment = InvoicePayment(
                    invoice_id=invoice.invoice_id,
                    invoice_number=invoice.invoice_number,
                    tenant_id=invoice.tenant_id,
                    currency=invoice.currency,
                    amount=invoice.amount,
                    status=PaymentStatus.PENDING,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(payment)
            last = self._last_attempt(session, invoice.invoice_id)
            open_attempt = last is not None and last.status == AttemptStatus.STARTED
            action = next_action(
                payment.status,
                payment.attempts,
                open_attempt,
                payment.next_retry_at,
                now,
                settings.payment_max_attempts,
            )
            attempts = payment.attempts
        if action == Action.NONE:
            return
        customer_id = self.ensure_customer(invoice.tenant_id, report)
        if action == Action.RECOVER:
            number = last.attempt_number
            found = self.gateway.find_payment_intent(invoice.invoice_id, number, customer_id)
            if found is not None:
                self._record_submitted(invoice.invoice_id, number, found, now)
                report.recovered.append(f"{invoice.invoice_id}#{number}")
                return
            # The call never reached Stripe: make it again, with the same idempotency key.
        else:
            number = attempts + 1
        method = self.gateway.default_payment_method(customer_id)
        if method is None:
            with session_scope(settings) as session:
                payment = session.get(InvoicePayment, invoice.invoice_id)
                payment.last_error = "the tenant has no default payment method"
                set_status(session, payment, PaymentStatus.REQUIRES_PAYMENT_METHOD, now)
            log.warning(
                "tenant %s has no usable payment method; invoice %s is not collected",
                invoice.tenant_id,
                invoice.invoice_id,
            )
            report.missing_payment_method.append(invoice.tenant_id)
            return
        amount_minor = to_minor_units(invoice.amount, invoice.currency)
        key = idempotency_key(invoice.invoice_id, number)
        if action == Action.ATTEMPT:
            with session_scope(settings) as session:  # the outbox record, before the call
                payment = session.get(InvoicePayment, invoice.invoice_id)
                if payment.attempts != attempts:  # another run got here first
                    return
                session.add(
                    PaymentAttempt(
                        invoice_id=invoice.invoice_id,
                        attempt_number=number,
                        idempotency_key=key,
                        status=AttemptStatus.STARTED,
                        customer_id=customer_id,
                        amount_minor=amount_minor,
                        created_at=now,
                        updated_at=now,
                    )
                )
                payment.attempts = number
                payment.next_retry_at = None
                set_status(session, payment, PaymentStatus.PROCESSING, now, number)
        result = self.gateway.create_payment_intent(
            amount_minor=amount_minor,
            currency=invoice.currency,
            customer_id=customer_id,
            payment_method=method,
            metadata={
                "invoice_id": invoice.invoice_id,
                "invoice_number": invoice.invoice_number or "",
                "tenant_id": invoice.tenant_id,
                "attempt": str(number),
            },
            idempotency_key=key,
        )
        if self.after_stripe_call is not None:
            self.after_stripe_call(invoice.invoice_id, number)
        if result.payment_intent_id is None:  # a decline that did not name its PaymentIntent
            found = self.gateway.find_payment_intent(invoice.invoice_id, number, customer_id)
            if found is not None:
                result = IntentResult(
                    found.payment_intent_id,
                    found.status,
                    result.failure_code,
                    result.failure_message,
                )
        self._record_submitted(invoice.invoice_id, number, result, now)
        report.attempted.append(f"{invoice.invoice_id}#{number}")

    @staticmethod
    def _last_attempt(session: Session, invoice_id: str) -> PaymentAttempt | None:
        return session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.invoice_id == invoice_id)
            .order_by(PaymentAttempt.attempt_number.desc())
        ).first()

    def _record_submitted(
        self, invoice_id: str, number: int, result: IntentResult, now: datetime
    ) -> None:
        with session_scope(self.settings) as session:
            attempt = session.scalars(
                select(PaymentAttempt).where(
                    PaymentAttempt.invoice_id == invoice_id,
                    PaymentAttempt.attempt_number == number,
                )
            ).one()
            attempt.payment_intent_id = attempt.payment_intent_id or result.payment_intent_id
            if attempt.status == AttemptStatus.STARTED:  # a webhook may have been faster
                attempt.status = AttemptStatus.SUBMITTED
                attempt.failure_code = result.failure_code
                attempt.failure_message = (result.failure_message or None) and (
                    result.failure_message[:500]
                )
                attempt.updated_at = now

    # -------------------------------------------------------------- reconciliation
    def reconcile(self, now: datetime, report: CollectionReport) -> None:
        """Submitted attempts whose webhook has not arrived after a while: ask Stripe."""
        with session_factory(self.settings)() as session:
            stale = session.scalars(
                select(PaymentAttempt).where(
                    PaymentAttempt.status == AttemptStatus.SUBMITTED,
                    PaymentAttempt.payment_intent_id.is_not(None),
                    PaymentAttempt.updated_at <= now - RECONCILE_AFTER,
                )
            ).all()
        for attempt in stale:
            intent = self.gateway.retrieve_payment_intent(attempt.payment_intent_id)
            status = intent.get("status")
            if status not in ("succeeded", "requires_payment_method", "canceled"):
                continue
            error = intent.get("last_payment_error") or {}
            with session_scope(self.settings) as session:
                applied = apply_outcome(
                    session,
                    self.settings,
                    invoice_id=attempt.invoice_id,
                    attempt_number=attempt.attempt_number,
                    payment_intent_id=attempt.payment_intent_id,
                    succeeded=status == "succeeded",
                    failure_code=error.get("code") or status,
                    failure_message=error.get("message"),
                    now=now,
                )
            if applied:
                report.reconciled.append(f"{attempt.invoice_id}#{attempt.attempt_number}")
