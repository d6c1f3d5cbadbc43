"""Re-issue voided invoices: a voided invoice's billing period is built again (and finalized,
its grace being long over), giving the period a new invoice with a new number."""

from datetime import date

import dagster as dg
from sqlalchemy import select

from billing.control_plane.db import session_factory
from billing.control_plane.models import InvoiceVoid
from dagster_project.jobs import billing_period_job
from dagster_project.partitions import period_key
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_sensor


@running_sensor(
    "Requests a rebuild of the billing period of each newly voided invoice.",
    every_seconds=60,
    job=billing_period_job,
)
def invoice_void_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    # Reads the control plane (the API's database), never the warehouse.
    settings = billing.get()
    after = context.cursor or ""
    with session_factory(settings)() as session:
        voids = session.scalars(
            select(InvoiceVoid).order_by(InvoiceVoid.voided_at, InvoiceVoid.invoice_id)
        ).all()
    new = [v for v in voids if f"{v.voided_at.isoformat()}|{v.invoice_id}" > after]
    if not new:
        return dg.SkipReason("no newly voided invoices")
    periods: dict[date, str] = {}
    for void in new:
        periods.setdefault(void.period_start, void.invoice_id)
    last = new[-1]
    context.update_cursor(f"{last.voided_at.isoformat()}|{last.invoice_id}")
    return [
        dg.RunRequest(run_key=f"reissue-{invoice_id}", partition_key=period_key(period))
        for period, invoice_id in sorted(periods.items())
    ]
