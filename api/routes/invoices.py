"""Invoices, read from the serving snapshot (fct_invoices, fct_invoice_lines); voids are
control-plane records, shown at once and applied by the next pipeline run (which re-issues
the period). The rules are in ``billing.services.invoices``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from adapters.warehouse.serving import NoSnapshot
from api.deps import (
    AdminDep,
    CallerDep,
    ClockDep,
    ReaderDep,
    SessionDep,
    check_visible,
    scoped_tenant,
)
from api.schemas.common import JSON_ERROR_RESPONSES, from_attrs
from api.schemas.invoices import (
    InvoiceLinePublic,
    InvoicePublic,
    InvoicesPublic,
    PaymentAttemptPublic,
)
from api.serving import row_of
from billing.control_plane.commands import MAX_DB_INTEGER, VoidIn
from billing.control_plane.models import InvoicePayment, InvoiceVoid
from billing.services import invoices as logic
from billing.timeutil import IsoDate

router = APIRouter(prefix="/invoices", tags=["invoices"])


def _public(
    row: dict,
    void: InvoiceVoid | None,
    lines: list[dict] | None = None,
    payment: tuple[InvoicePayment, list] | None = None,
) -> InvoicePublic:
    status, voided_at, reason = logic.shown_status(row, void)
    shown = {
        **row,
        "status": status,
        "voided_at": voided_at,
        "void_reason": reason,
        "payment_status": payment[0].status if payment else None,
        "attempts": [
            from_attrs(PaymentAttemptPublic, a, attempt=a.attempt_number)
            for a in (payment[1] if payment else [])
        ],
        "lines": None
        if lines is None
        else [
            row_of(
                InvoiceLinePublic,
                {**line, "currency": row["currency"]},
                "amount",
                amount="amount",
                kind="line_kind",
                meter="meter_key",
            )
            for line in lines
        ],
    }
    return row_of(
        InvoicePublic,
        shown,
        *("subtotal", "discount", "tax", "credits", "total"),
        credits="credit_amount",
        id="invoice_id",
        number="invoice_number",
    )


def _shown(session, caller, reader, invoice_id: str) -> InvoicePublic:
    """The invoice as its tenant (or the admin) sees it: lines, void, payment and attempts."""
    row, lines = logic.load_invoice(reader, invoice_id)
    check_visible(caller, row["tenant_id"], f"invoice {invoice_id!r} not found")
    payment = logic.payments(session, [invoice_id]).get(invoice_id)
    return _public(row, logic.voids(session, [invoice_id]).get(invoice_id), lines, payment)


@router.get("", response_model=InvoicesPublic)
def list_invoices(
    session: SessionDep,
    caller: CallerDep,
    reader: ReaderDep,
    tenant_id: str | None = None,
    subscription_id: str | None = None,
    status: Literal["draft", "finalized", "void"] | None = None,
    period_start: Annotated[
        IsoDate | None, Query(description="A billing period's first day.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """Invoices, newest period first, filtered by tenant, subscription, status and period."""
    tenant = scoped_tenant(caller, tenant_id)
    try:
        count, rows, info = logic.invoice_page(
            session, reader, tenant, subscription_id, status, period_start, limit, offset
        )
    except NoSnapshot:
        return InvoicesPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    ids = [r["invoice_id"] for r in rows]
    voids, payments = logic.voids(session, ids), logic.payments(session, ids)
    return InvoicesPublic(
        data=[
            _public(r, voids.get(r["invoice_id"]), None, payments.get(r["invoice_id"]))
            for r in rows
        ],
        count=count,
        limit=limit,
        offset=offset,
        as_of=info.published_at,
    )


@router.get("/upcoming", response_model=InvoicesPublic)
def upcoming_invoice(
    tenant_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep, clock: ClockDep
):
    """The running invoice(s) of the current billing period, as of the last build."""
    found, info = logic.upcoming_invoices(reader, scoped_tenant(caller, tenant_id), clock())
    data = [_public(row, None, lines) for row, lines in found]
    return InvoicesPublic(
        data=data,
        count=len(data),
        limit=len(data),
        offset=0,
        as_of=info.published_at if info else None,
    )


@router.get("/{invoice_id}", response_model=InvoicePublic)
def get_invoice(invoice_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep):
    return _shown(session, caller, reader, invoice_id)


@router.post("/{invoice_id}/void", response_model=InvoicePublic)
def void_invoice(
    invoice_id: str,
    body: VoidIn,
    session: SessionDep,
    caller: AdminDep,
    reader: ReaderDep,
    clock: ClockDep,
):
    """Declare a finalized invoice void. The next pipeline run re-issues the period: a new
    invoice with a new number (issue + 1)."""
    row, lines = logic.load_invoice(reader, invoice_id)
    void = logic.void_invoice(session, reader, row, body.reason, clock())
    return _public(row, void, lines)


@router.get("/{invoice_id}/html", response_class=HTMLResponse, responses=JSON_ERROR_RESPONSES)
def invoice_html(invoice_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep):
    """A printable rendering of the invoice (its status and payment as they are now)."""
    invoice = _shown(session, caller, reader, invoice_id)
    return HTMLResponse(
        logic.render_invoice(invoice, logic.billing_details(session, invoice.tenant_id))
    )


@router.get(
    "/{invoice_id}/pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The PDF frozen at finalization"},
        **JSON_ERROR_RESPONSES,
    },
)
def invoice_pdf(invoice_id: str, caller: CallerDep, reader: ReaderDep):
    """The invoice's PDF as it was frozen at finalization (the same bytes every time; their
    SHA-256 is the ETag). 404 for a draft, which has none until it is finalized."""
    row, _ = logic.load_invoice(reader, invoice_id)
    check_visible(caller, row["tenant_id"], f"invoice {invoice_id!r} not found")
    document = logic.frozen_document(reader, row)
    return Response(
        document.content,
        media_type="application/pdf",
        headers={
            "ETag": f'"{document.sha256}"',
            "Content-Disposition": f'inline; filename="{document.filename}"',
        },
    )
