"""Stripe: the signed webhook endpoint (no API key: Stripe calls it; the signature is the
authentication) and the tenants' Stripe customers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.stripe.gateway import WebhookRejected, verify_webhook
from api.deps import CallerDep, ClockDep, SessionDep, SettingsDep, get_producer, scoped_tenant
from api.schemas.common import Error
from api.schemas.payments import StripeCustomerPublic, WebhookResult
from billing.control_plane.models import StripeCustomer
from billing.errors import NotFound, error_body
from billing.services.payments import WebhookReplay, handle_webhook_event, publish_status_events

log = logging.getLogger(__name__)
router = APIRouter(prefix="/stripe", tags=["stripe"])
PUBLISH_TIMEOUT_SECONDS = 5.0


@router.post(
    "/webhooks",
    response_model=WebhookResult,
    responses={
        400: {
            "description": "bad, missing or stale signature, or a replayed event",
            "model": Error,
        }
    },
)
async def stripe_webhook(request: Request, settings: SettingsDep, clock: ClockDep):
    """Stripe events, verified with `STRIPE_WEBHOOK_SECRET` (`Stripe-Signature`, 5-minute
    tolerance) and applied once per event id: PaymentIntent outcomes move invoices to
    `paid` or `payment_failed` (`uncollectible` after the last attempt)."""
    payload = await request.body()
    try:
        event = verify_webhook(
            payload, request.headers.get("Stripe-Signature"), settings.stripe_webhook_secret
        )
    except WebhookRejected as exc:
        return JSONResponse(status_code=400, content=error_body("bad_request", str(exc)))
    try:
        result = await run_in_threadpool(handle_webhook_event, settings, event, clock())
    except WebhookReplay as exc:
        return JSONResponse(status_code=400, content=error_body("bad_request", str(exc)))
    # The status CloudEvents were queued with the change; send them now (a Kafka outage
    # leaves them queued for the next publisher: another webhook or the collection run).
    try:
        await run_in_threadpool(
            publish_status_events, settings, get_producer(request), PUBLISH_TIMEOUT_SECONDS
        )
    except Exception:  # noqa: BLE001 - the event is applied; publishing is retried later
        log.exception("publishing payment status events failed; they stay queued")
    return WebhookResult(received=True, event_id=event["id"], result=result)


@router.get("/customers/{tenant_id}", response_model=StripeCustomerPublic)
def get_customer(tenant_id: str, session: SessionDep, caller: CallerDep):
    """The tenant's Stripe customer (created by the first collection that needs it)."""
    tenant = scoped_tenant(caller, tenant_id)
    row = session.get(StripeCustomer, tenant)
    if row is None:
        raise NotFound(f"tenant {tenant_id!r} has no Stripe customer yet")
    return StripeCustomerPublic(
        tenant_id=row.tenant_id, customer_id=row.customer_id, created_at=row.created_at
    )
