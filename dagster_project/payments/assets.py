"""Collect finalized invoices with Stripe (see ``billing.services.payments``). Downstream of the
serving snapshot, which is published only when the invoice models and their checks succeeded; the
asset reads the snapshot (never the warehouse) and writes payment state to the control
plane."""

from datetime import datetime

import dagster as dg
from pydantic import Field

from adapters.stripe.collection import collect_payments
from billing.control_plane.db import migrate
from dagster_project.resources import BillingSettings

SERVING_SNAPSHOT = dg.AssetKey(["serving", "snapshot"])
INVOICE_PAYMENTS = dg.AssetKey(["payments", "invoice_payments"])
COLLECTION_OFF = "payment collection is off: STRIPE_API_KEY is not set"


class CollectionConfig(dg.Config):
    now: str = Field(
        "",
        description="Collect as of this UTC time (ISO 8601); empty: now. For backfills/tests.",
    )


@dg.asset(
    key=INVOICE_PAYMENTS,
    deps=[SERVING_SNAPSHOT],
    group_name="payments",
    kinds={"stripe"},
    description="A PaymentIntent per finalized invoice and attempt (recorded outbox-style in "
    "the control plane before the call), retries of failed payments whose backoff elapsed, "
    "recovery of interrupted attempts.",
)
def invoice_payments(
    context: dg.AssetExecutionContext, config: CollectionConfig, billing: BillingSettings
):
    settings = billing.get()
    if not settings.stripe_enabled:
        context.log.warning(COLLECTION_OFF)
        return dg.MaterializeResult(metadata={"enabled": False, "reason": COLLECTION_OFF})
    migrate(settings)
    now = datetime.fromisoformat(config.now) if config.now else None
    context.log.info("collecting payments of the finalized invoices")
    report = collect_payments(settings, now=now)
    summary = report.as_dict()
    for tenant in summary["missing_payment_method"]:
        context.log.warning(f"tenant {tenant} has no usable payment method")
    context.log.info(f"payment collection: {summary}")
    metadata = {
        "enabled": True,
        "attempted": len(summary["attempted"]),
        "report": dg.MetadataValue.json(summary),
    }
    if summary["errors"]:
        raise dg.Failure(
            description=f"{len(summary['errors'])} invoice(s) could not be collected: "
            + "; ".join(summary["errors"][:5]),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


collect_payments_job = dg.define_asset_job(
    "collect_payments_job",
    selection=dg.AssetSelection.assets(invoice_payments),
    description="Collect finalized invoices and due retries with Stripe.",
    config={"execution": {"config": {"in_process": {}}}},
)
