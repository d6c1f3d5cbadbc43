"""Payment collection wired to the real adapters: the serving snapshot, Stripe and Kafka."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.kafka import EventProducer
from adapters.stripe.gateway import StripeGateway
from adapters.warehouse.serving import ServingReader
from billing.services.payment_collection import (
    CollectionReport,
    PaymentCollector,
    finalized_invoices,
)
from billing.settings import Settings


def payment_collector(
    settings: Settings, after_stripe_call: Callable[[str, int], None] | None = None
) -> PaymentCollector:
    """A collector that calls Stripe and publishes the status events to Kafka."""
    return PaymentCollector(
        settings,
        StripeGateway(settings),
        producer=lambda: EventProducer(settings),
        after_stripe_call=after_stripe_call,
    )


def collect_payments(
    settings: Settings,
    now: datetime | None = None,
    after_stripe_call: Callable[[str, int], None] | None = None,
) -> CollectionReport:
    """Collect every finalized invoice of the current serving snapshot."""
    reader = ServingReader(settings)
    try:
        invoices = finalized_invoices(settings, reader)
    finally:
        reader.close()
    return payment_collector(settings, after_stripe_call).collect(invoices, now)
