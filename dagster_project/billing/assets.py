"""Finalize the invoices of billing periods whose grace has passed (see
``billing.rules.finalization``). Partitioned by billing period, like the models it reads."""

import dagster as dg

from adapters.pdf import html_to_pdf
from adapters.warehouse.connection import Warehouse
from billing.rules.events import utc_now
from billing.rules.finalization import finalize_due_periods
from billing.services.invoices import invoice_pdf
from dagster_project.partitions import billing_periods, periods_in_window
from dagster_project.resources import BillingSettings

FINALIZED_INVOICES = dg.AssetKey(["invoicing", "finalized_invoices"])
FINALIZED_LINES = dg.AssetKey(["invoicing", "finalized_invoice_lines"])
FINALIZED_DOCUMENTS = dg.AssetKey(["invoicing", "finalized_invoice_documents"])
CLOSED_PERIODS = dg.AssetKey(["landing", "closed_billing_periods"])
DRAFT_INVOICES = dg.AssetKey(["intermediate", "int_invoices_draft"])
DRAFT_LINES = dg.AssetKey(["intermediate", "int_invoice_full_lines_draft"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            FINALIZED_INVOICES,
            description="Finalized invoices, numbered and immutable (raw.finalized_invoices).",
            group_name="invoicing",
            deps=[DRAFT_INVOICES, DRAFT_LINES],
        ),
        dg.AssetSpec(
            FINALIZED_LINES,
            description="Their lines, as finalized (raw.finalized_invoice_lines).",
            group_name="invoicing",
            deps=[DRAFT_INVOICES, DRAFT_LINES],
        ),
        dg.AssetSpec(
            FINALIZED_DOCUMENTS,
            description="Their PDFs, rendered once at finalization, with their SHA-256 "
            "(raw.finalized_invoice_documents).",
            group_name="invoicing",
            deps=[DRAFT_INVOICES, DRAFT_LINES],
        ),
        dg.AssetSpec(
            CLOSED_PERIODS,
            description="Billing periods closed by finalization (raw.closed_billing_periods); "
            "usage landing for them later is flagged late and adjusted on the next invoice.",
            group_name="invoicing",
            deps=[DRAFT_INVOICES],
        ),
    ],
    partitions_def=billing_periods,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="finalize_invoices",
)
def finalize_invoices(context: dg.AssetExecutionContext, billing: BillingSettings):
    """Finalize the drafts of the periods in the window once their grace has passed; a
    no-op for periods already finalized or still in grace."""
    settings = billing.get()
    periods = periods_in_window(context.partition_time_window)
    context.log.info(f"finalizing the periods due among {[p.isoformat() for p in periods]}")
    with Warehouse(settings).connection() as con:
        result = finalize_due_periods(
            con,
            periods,
            utc_now(),
            settings.grace_period_hours,
            document=lambda row, lines, tenant: invoice_pdf(row, lines, tenant, html_to_pdf),
        )
    count = sum(len(n) for n in result.finalized.values())
    context.log.info(f"finalized {count} invoices; periods in grace: {result.not_due}")
    metadata = {
        "finalized": dg.MetadataValue.json(result.finalized),
        "in_grace": dg.MetadataValue.json([p.isoformat() for p in result.not_due]),
    }
    for key in (FINALIZED_INVOICES, FINALIZED_LINES, FINALIZED_DOCUMENTS, CLOSED_PERIODS):
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
