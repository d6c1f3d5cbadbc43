"""Invoices, read from the serving snapshot (fct_invoices, fct_invoice_lines); voids are
control-plane records, shown at once and applied by the next pipeline run (which re-issues
the period)."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from adapters.warehouse.serving import MissingTable, NoSnapshot
from api.deps import AdminDep, CallerDep, ClockDep, ReaderDep, SessionDep, scoped_tenant
from api.schemas.common import JSON_ERROR_RESPONSES
from api.schemas.invoices import (
    InvoiceLinePublic,
    InvoicePublic,
    InvoicesPublic,
    PaymentAttemptPublic,
)
from billing.control_plane.commands import MAX_DB_INTEGER, VoidIn
from billing.control_plane.models import InvoicePayment, InvoiceVoid, PaymentAttempt
from billing.errors import Conflict, Invalid, NotFound
from billing.rules.pricing import round_money
from billing.timeutil import IsoDate, period_of

router = APIRouter(prefix="/invoices", tags=["invoices"])

INVOICE_ID_RE = re.compile(r"^inv_[0-9a-f]{8,64}$")
COLUMNS = (
    "invoice_id, invoice_number, status, subscription_id, tenant_id, period_start, period_end, "
    "issue_number, currency, subtotal_amount, discount_amount, tax_rate_percentage, tax_amount, "
    "credit_amount, total_amount, finalized_at, voided_at, void_reason"
)


def _money(amount, currency: str) -> str:
    return str(round_money(Decimal(amount), currency))


def _voids(session, ids: list[str]) -> dict[str, InvoiceVoid]:
    if not ids:
        return {}
    rows = session.scalars(select(InvoiceVoid).where(InvoiceVoid.invoice_id.in_(ids))).all()
    return {r.invoice_id: r for r in rows}


def _payments(session, ids: list[str]) -> dict[str, tuple[InvoicePayment, list]]:
    """Payment status and attempts (Stripe collection) of the given invoices."""
    if not ids:
        return {}
    payments = session.scalars(
        select(InvoicePayment).where(InvoicePayment.invoice_id.in_(ids))
    ).all()
    attempts = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id.in_(ids))
        .order_by(PaymentAttempt.invoice_id, PaymentAttempt.attempt_number)
    ).all()
    out = {p.invoice_id: (p, []) for p in payments}
    for a in attempts:
        if a.invoice_id in out:
            out[a.invoice_id][1].append(
                PaymentAttemptPublic(
                    attempt=a.attempt_number,
                    status=a.status,
                    payment_intent_id=a.payment_intent_id,
                    amount_minor=a.amount_minor,
                    failure_code=a.failure_code,
                    failure_message=a.failure_message,
                    created_at=a.created_at,
                    updated_at=a.updated_at,
                )
            )
    return out


def _public(
    row: dict,
    void: InvoiceVoid | None,
    lines: list[dict] | None = None,
    payment: tuple[InvoicePayment, list] | None = None,
):
    currency = row["currency"]
    status, voided_at, reason = row["status"], row["voided_at"], row["void_reason"]
    if void is not None and status == "finalized":
        status, voided_at, reason = "void", void.voided_at, void.reason
    return InvoicePublic(
        id=row["invoice_id"],
        number=row["invoice_number"],
        status=status,
        subscription_id=row["subscription_id"],
        tenant_id=row["tenant_id"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        issue_number=row["issue_number"],
        currency=currency,
        subtotal=_money(row["subtotal_amount"], currency),
        discount=_money(row["discount_amount"], currency),
        tax_rate_percentage=row["tax_rate_percentage"],
        tax=_money(row["tax_amount"], currency),
        credits=_money(row["credit_amount"], currency),
        total=_money(row["total_amount"], currency),
        finalized_at=row["finalized_at"],
        voided_at=voided_at,
        void_reason=reason,
        payment_status=payment[0].status if payment else None,
        attempts=payment[1] if payment else [],
        lines=None
        if lines is None
        else [
            InvoiceLinePublic(
                line_number=line["line_number"],
                kind=line["line_kind"],
                description=line["description"],
                service_period_start=line["service_period_start"],
                meter=line["meter_key"],
                quantity=line["quantity"],
                amount=_money(line["amount"], currency),
            )
            for line in lines
        ],
    )


def _load(reader, invoice_id: str) -> tuple[dict, list[dict]]:
    if not INVOICE_ID_RE.match(invoice_id):
        raise NotFound(f"invoice {invoice_id!r} not found")
    try:
        rows, _ = reader.query(
            f"select {COLUMNS} from {{fct_invoices}} where invoice_id = :id", {"id": invoice_id}
        )
        lines, _ = reader.query(
            "select line_number, line_kind, description, service_period_start, meter_key, "
            "quantity, amount from {fct_invoice_lines} where invoice_id = :id "
            "order by line_number",
            {"id": invoice_id},
        )
    except (NoSnapshot, MissingTable):
        # No invoice is served yet: not found, for every caller (the invoice's tenant, which
        # decides who may see it, is only known from its row).
        rows, lines = [], []
    if not rows:
        raise NotFound(f"invoice {invoice_id!r} not found")
    return rows[0], lines


def _visible(caller, row: dict, invoice_id: str) -> None:
    if not caller.can_see(row["tenant_id"]):
        raise NotFound(f"invoice {invoice_id!r} not found")


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
    if period_start is not None and period_start.day != 1:
        raise Invalid("must be the first day of a billing period", "period_start")
    clauses, params = [], {}
    for column, value in (
        ("tenant_id", tenant),
        ("subscription_id", subscription_id),
        ("period_start", period_start),
    ):
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    voided = {r.invoice_id for r in session.scalars(select(InvoiceVoid)).all()}
    voided_sql = ", ".join(f"'{i}'" for i in sorted(voided) if INVOICE_ID_RE.match(i)) or "''"
    if status == "void":
        clauses.append(f"(status = 'void' or invoice_id in ({voided_sql}))")
    elif status == "finalized":
        clauses.append(f"status = 'finalized' and invoice_id not in ({voided_sql})")
    elif status == "draft":
        clauses.append("status = 'draft'")
    where = (" where " + " and ".join(clauses)) if clauses else ""
    try:
        counted, _ = reader.query(f"select count(*) as n from {{fct_invoices}}{where}", params)
        rows, info = reader.query(
            f"select {COLUMNS} from {{fct_invoices}}{where} "
            "order by period_start desc, tenant_id, subscription_id, issue_number desc "
            f"limit {limit} offset {offset}",
            params,
        )
    except NoSnapshot:
        return InvoicesPublic(data=[], count=0, limit=limit, offset=offset, as_of=None)
    ids = [r["invoice_id"] for r in rows]
    voids, payments = _voids(session, ids), _payments(session, ids)
    return InvoicesPublic(
        data=[
            _public(r, voids.get(r["invoice_id"]), None, payments.get(r["invoice_id"]))
            for r in rows
        ],
        count=counted[0]["n"],
        limit=limit,
        offset=offset,
        as_of=info.published_at,
    )


@router.get("/upcoming", response_model=InvoicesPublic)
def upcoming_invoice(
    tenant_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep, clock: ClockDep
):
    """The running invoice(s) of the current billing period, as of the last build."""
    tenant = scoped_tenant(caller, tenant_id)
    start, _ = period_of(clock())
    try:
        rows, info = reader.query(
            f"select {COLUMNS} from {{fct_invoices}} where tenant_id = :tenant "
            "and period_start = :start and status = 'draft' order by subscription_id",
            {"tenant": tenant, "start": start},
        )
    except NoSnapshot:
        rows, info = [], None
    if not rows:
        raise NotFound(f"tenant {tenant!r} has no invoice for the period starting {start}")
    data = [_public(r, None, _load(reader, r["invoice_id"])[1]) for r in rows]
    return InvoicesPublic(
        data=data,
        count=len(data),
        limit=len(data),
        offset=0,
        as_of=info.published_at if info else None,
    )


@router.get("/{invoice_id}", response_model=InvoicePublic)
def get_invoice(invoice_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep):
    row, lines = _load(reader, invoice_id)
    _visible(caller, row, invoice_id)
    payment = _payments(session, [invoice_id]).get(invoice_id)
    return _public(row, _voids(session, [invoice_id]).get(invoice_id), lines, payment)


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
    row, lines = _load(reader, invoice_id)
    if row["status"] == "draft":
        raise Conflict("only finalized invoices can be voided; a draft changes until finalized")
    if row["status"] == "void" or session.get(InvoiceVoid, invoice_id) is not None:
        raise Conflict(f"invoice {row['invoice_number']} is already void")
    later, _ = reader.query(
        "select i.invoice_number from {fct_invoice_lines} l join {fct_invoices} i "
        "on i.invoice_id = l.invoice_id where i.subscription_id = :sub "
        "and l.line_kind = 'usage_adjustment' and l.service_period_start = :period "
        "and i.status = 'finalized'",
        {"sub": row["subscription_id"], "period": row["period_start"]},
    )
    if later:
        raise Conflict(
            f"invoice {later[0]['invoice_number']} already carries adjustments for this period; "
            "void it first"
        )
    void = InvoiceVoid(
        invoice_id=invoice_id,
        subscription_id=row["subscription_id"],
        period_start=row["period_start"],
        reason=body.reason,
        voided_at=clock(),
    )
    session.add(void)
    session.commit()
    return _public(row, void, lines)


@router.get("/{invoice_id}/html", response_class=HTMLResponse, responses=JSON_ERROR_RESPONSES)
def invoice_html(invoice_id: str, session: SessionDep, caller: CallerDep, reader: ReaderDep):
    """A printable rendering of the invoice."""
    row, lines = _load(reader, invoice_id)
    _visible(caller, row, invoice_id)
    payment = _payments(session, [invoice_id]).get(invoice_id)
    invoice = _public(row, _voids(session, [invoice_id]).get(invoice_id), lines, payment)
    return HTMLResponse(render_invoice(invoice))


def render_invoice(invoice: InvoicePublic) -> str:
    e = html.escape
    title = invoice.number or f"Draft invoice {invoice.id}"
    rows = "\n".join(
        f"<tr class='{e(line.kind)}'><td>{e(line.description)}</td>"
        f"<td class='num'>{e(str(line.quantity) if line.quantity is not None else '')}</td>"
        f"<td class='num'>{e(line.amount)}</td></tr>"
        for line in invoice.lines or []
    )
    stamp = {"void": "VOID", "draft": "DRAFT"}.get(invoice.status, "")
    if invoice.payment_status == "paid" and not stamp:
        stamp = "PAID"
    payment = f" · payment {e(invoice.payment_status)}" if invoice.payment_status else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2.5rem; color: #222; }}
  h1 {{ margin-bottom: 0; }} .meta {{ color: #555; margin-bottom: 1.5rem; }}
  table {{ width: 100%; border-collapse: collapse; }}
  th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .3rem; text-align: left; }}
  .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
  tfoot td {{ font-weight: 600; }} .stamp {{ color: #b00; font-size: 2rem; }}
  tr.discount td, tr.credit td {{ color: #2a7; }}
  @media print {{ body {{ margin: 1cm; }} }}
</style></head><body>
<h1>{e(title)} <span class="stamp">{e(stamp)}</span></h1>
<div class="meta">Tenant {e(invoice.tenant_id)} · subscription {e(invoice.subscription_id)}<br>
Billing period {invoice.period_start} to {invoice.period_end} (exclusive) ·
currency {e(invoice.currency)} · status {e(invoice.status)}{payment}</div>
<table><thead><tr><th>Description</th><th class="num">Quantity</th>
<th class="num">Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>
<tr><td>Subtotal</td><td></td><td class="num">{e(invoice.subtotal)}</td></tr>
<tr><td>Discounts</td><td></td><td class="num">-{e(invoice.discount)}</td></tr>
<tr><td>Tax ({e(str(invoice.tax_rate_percentage))}%)</td><td></td>
<td class="num">{e(invoice.tax)}</td></tr>
<tr><td>Credits</td><td></td><td class="num">-{e(invoice.credits)}</td></tr>
<tr><td>Total due</td><td></td><td class="num">{e(invoice.total)} {e(invoice.currency)}</td></tr>
</tfoot></table>
</body></html>
"""
