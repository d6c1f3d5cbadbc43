"""The Stripe calls payment collection makes, through one ``StripeClient`` per gateway (never
the SDK's global state), pointed at real Stripe or at an emulator (``STRIPE_API_BASE``).

Lookups by metadata (a customer by tenant, a PaymentIntent by invoice and attempt) guard
against a lost mapping or a crash between a call and recording its result. They use Stripe's
search API and fall back to listing when it is unavailable (localstripe has no search).
"""

from __future__ import annotations

import json
import logging

import stripe

from billing.ports import IntentResult  # noqa: F401  (re-exported)
from billing.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300


class StripeNotConfigured(RuntimeError):
    pass


class WebhookRejected(ValueError):
    """A webhook whose signature is missing, wrong or too old."""


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> dict:
    """Check ``Stripe-Signature`` (HMAC-SHA256 over ``<t>.<payload>``, at most 5 minutes old)
    and return the event."""
    if not secret:
        raise WebhookRejected("no webhook signing secret is configured (STRIPE_WEBHOOK_SECRET)")
    if not signature:
        raise WebhookRejected("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"bad Stripe-Signature: {exc.user_message or exc}") from exc
    except UnicodeDecodeError as exc:
        raise WebhookRejected("the payload is not UTF-8") from exc
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookRejected("the payload is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookRejected("the payload is not a Stripe event")
    return event


def _metadata(obj) -> dict:
    return obj.to_dict().get("metadata") or {}


class StripeGateway:
    def __init__(self, settings: Settings):
        if not settings.stripe_enabled:
            raise StripeNotConfigured("payment collection is off: STRIPE_API_KEY is not set")
        base = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(
            settings.stripe_api_key, base_addresses=base, max_network_retries=2
        )

    # ------------------------------------------------------------------ customers
    def find_customer(self, tenant_id: str) -> str | None:
        """The customer whose metadata names the tenant, if any."""
        try:
            found = self.client.v1.customers.search(
                {"query": f"metadata['tenant_id']:'{tenant_id}'", "limit": 10}
            )
            matches = [c.id for c in found.data]
        except stripe.InvalidRequestError:
            matches = [
                c.id
                for c in self.client.v1.customers.list({"limit": 100}).auto_paging_iter()
                if _metadata(c).get("tenant_id") == tenant_id
            ]
        return sorted(matches)[0] if matches else None

    def create_customer(self, tenant_id: str, name: str | None, email: str | None) -> str:
        params: dict = {"metadata": {"tenant_id": tenant_id}}
        if name:
            params["name"] = name
        if email:
            params["email"] = email
        customer = self.client.v1.customers.create(
            params, {"idempotency_key": f"billing-customer-{tenant_id}"}
        )
        return customer.id

    def default_payment_method(self, customer_id: str) -> str | None:
        customer = self.client.v1.customers.retrieve(customer_id).to_dict()
        settings = customer.get("invoice_settings") or {}
        method = settings.get("default_payment_method")
        if isinstance(method, dict):  # expanded
            method = method.get("id")
        return method

    def attach_card(self, customer_id: str, payment_method: str) -> str:
        """Attach a payment method and make it the customer's default (demo and tests)."""
        self.client.v1.payment_methods.attach(payment_method, {"customer": customer_id})
        self.client.v1.customers.update(
            customer_id, {"invoice_settings": {"default_payment_method": payment_method}}
        )
        return payment_method

    def create_card(self, number: str) -> str:
        """A card payment method from a test card number (emulator and test mode only)."""
        method = self.client.v1.payment_methods.create(
            {
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        return method.id

    # ------------------------------------------------------------------ payment intents
    def create_payment_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        customer_id: str,
        payment_method: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentResult:
        """Create and confirm, off-session, a PaymentIntent. A decline is a result, not an
        error: the PaymentIntent exists either way (its webhook reports the outcome)."""
        params = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": metadata,
        }
        try:
            intent = self.client.v1.payment_intents.create(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            error = exc.error
            intent = getattr(error, "payment_intent", None) if error else None
            intent_id = intent.id if intent is not None else None
            return IntentResult(
                intent_id,
                "requires_payment_method",
                getattr(error, "code", None) or exc.code,
                exc.user_message or str(exc),
            )
        return IntentResult(intent.id, intent.status)

    def find_payment_intent(
        self, invoice_id: str, attempt: int, customer_id: str
    ) -> IntentResult | None:
        """The PaymentIntent created for an attempt, found by its metadata."""
        try:
            found = self.client.v1.payment_intents.search(
                {
                    "query": f"metadata['invoice_id']:'{invoice_id}' "
                    f"AND metadata['attempt']:'{attempt}'",
                    "limit": 10,
                }
            )
            intents = list(found.data)
        except stripe.InvalidRequestError:
            try:
                listed = self.client.v1.payment_intents.list(
                    {"customer": customer_id, "limit": 100}
                )
            except stripe.InvalidRequestError:  # the emulator lists without filters only
                listed = self.client.v1.payment_intents.list({"limit": 100})
            intents = [
                i
                for i in listed.auto_paging_iter()
                if _metadata(i).get("invoice_id") == invoice_id
                and _metadata(i).get("attempt") == str(attempt)
            ]
        if not intents:
            return None
        if len(intents) > 1:
            log.error("%s PaymentIntents for %s attempt %s", len(intents), invoice_id, attempt)
        intent = sorted(intents, key=lambda i: i.created)[0]
        return IntentResult(intent.id, intent.status)

    def retrieve_payment_intent(self, payment_intent_id: str) -> dict:
        return self.client.v1.payment_intents.retrieve(payment_intent_id).to_dict()

    def list_payment_intents(self) -> list[dict]:
        """Every PaymentIntent of the account (tests and reconciliation)."""
        listed = self.client.v1.payment_intents.list({"limit": 100})
        return [i.to_dict() for i in listed.auto_paging_iter()]
