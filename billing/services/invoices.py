"""Invoices: they are computed by the warehouse (fct_invoices, fct_invoice_lines) and read from
the serving snapshot; what the control plane adds is voids (shown at once, applied by the next
pipeline run, which re-issues the period) and Stripe collection (payments and attempts)."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.models import InvoicePayment, InvoiceVoid, PaymentAttempt, Tenant
from billing.errors import Conflict, NotFound
from billing.ports import MartReader, MissingTable, NoSnapshot
from billing.rules.periods import check_period_start
from billing.rules.pricing import money_text
from billing.timeutil import period_of

INVOICE_ID_RE = re.compile(r"^inv_[0-9a-f]{8,64}$")
COLUMNS = (
    "invoice_id, invoice_number, status, subscription_id, tenant_id, period_start, period_end, "
    "issue_number, currency, subtotal_amount, discount_amount, tax_rate_percentage, tax_amount, "
    "credit_amount, total_amount, finalized_at, voided_at, void_reason"
)


def voids(session: Session, ids: list[str]) -> dict[str, InvoiceVoid]:
    if not ids:
        return {}
    rows = session.scalars(select(InvoiceVoid).where(InvoiceVoid.invoice_id.in_(ids))).all()
    return {r.invoice_id: r for r in rows}


def voided_ids(session: Session) -> set[str]:
    return set(session.scalars(select(InvoiceVoid.invoice_id)).all())


def payments(session: Session, ids: list[str]) -> dict[str, tuple[InvoicePayment, list]]:
    """Payment (Stripe collection) and its attempts, in order, of the given invoices."""
    if not ids:
        return {}
    found = session.scalars(select(InvoicePayment).where(InvoicePayment.invoice_id.in_(ids))).all()
    attempts = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id.in_(ids))
        .order_by(PaymentAttempt.invoice_id, PaymentAttempt.attempt_number)
    ).all()
    out: dict[str, tuple[InvoicePayment, list[PaymentAttempt]]] = {
        p.invoice_id: (p, []) for p in found
    }
    for a in attempts:
        if a.invoice_id in out:
            out[a.invoice_id][1].append(a)
    return out


def payment_statuses(session: Session, invoice_ids: list[str]) -> dict[str, str]:
    """Payment status (Stripe collection, in the control plane) of the given invoices."""
    statuses: dict[str, str] = {}
    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start : start + 500]
        statuses.update(
            session.execute(
                select(InvoicePayment.invoice_id, InvoicePayment.status).where(
                    InvoicePayment.invoice_id.in_(chunk)
                )
            ).all()
        )
    return statuses


def shown_status(row: dict, void: InvoiceVoid | None) -> tuple[str, datetime | None, str | None]:
    """(status, voided_at, void reason) of a served invoice: a void recorded in the control
    plane applies to a finalized invoice at once."""
    if void is not None and row["status"] == "finalized":
        return "void", void.voided_at, void.reason
    return row["status"], row["voided_at"], row["void_reason"]


def load_invoice(reader: MartReader, invoice_id: str) -> tuple[dict, list[dict]]:
    """The served invoice and its lines; NotFound if there is none (or nothing is served)."""
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


def invoice_page(
    session: Session,
    reader: MartReader,
    tenant_id: str | None,
    subscription_id: str | None,
    status: str | None,
    period_start: date | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict], object]:
    """Invoices newest period first, with the voids of the control plane applied to the status
    filter: (count of all matching, the page's rows, snapshot info). Raises NoSnapshot."""
    check_period_start(period_start)
    clauses, params = [], {}
    for column, value in (
        ("tenant_id", tenant_id),
        ("subscription_id", subscription_id),
        ("period_start", period_start),
    ):
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    voided = voided_ids(session)
    voided_sql = ", ".join(f"'{i}'" for i in sorted(voided) if INVOICE_ID_RE.match(i)) or "''"
    if status == "void":
        clauses.append(f"(status = 'void' or invoice_id in ({voided_sql}))")
    elif status == "finalized":
        clauses.append(f"status = 'finalized' and invoice_id not in ({voided_sql})")
    elif status == "draft":
        clauses.append("status = 'draft'")
    where = (" where " + " and ".join(clauses)) if clauses else ""
    counted, _ = reader.query(f"select count(*) as n from {{fct_invoices}}{where}", params)
    rows, info = reader.query(
        f"select {COLUMNS} from {{fct_invoices}}{where} "
        "order by period_start desc, tenant_id, subscription_id, issue_number desc "
        f"limit {limit} offset {offset}",
        params,
    )
    return counted[0]["n"], rows, info


def upcoming_invoices(
    reader: MartReader, tenant_id: str, now: datetime
) -> tuple[list[tuple[dict, list[dict]]], object]:
    """The running (draft) invoices of the current period, as of the last build, with their
    lines: ([(row, lines)], snapshot info). NotFound if there is none."""
    start, _ = period_of(now)
    try:
        rows, info = reader.query(
            f"select {COLUMNS} from {{fct_invoices}} where tenant_id = :tenant "
            "and period_start = :start and status = 'draft' order by subscription_id",
            {"tenant": tenant_id, "start": start},
        )
    except NoSnapshot:
        rows, info = [], None
    if not rows:
        raise NotFound(f"tenant {tenant_id!r} has no invoice for the period starting {start}")
    return [(r, load_invoice(reader, r["invoice_id"])[1]) for r in rows], info


def void_invoice(
    session: Session, reader: MartReader, row: dict, reason: str, now: datetime
) -> InvoiceVoid:
    """Declare a finalized invoice void (the next pipeline run re-issues the period). Not a
    draft, not twice, and not while a later invoice carries adjustments for the period."""
    if row["status"] == "draft":
        raise Conflict("only finalized invoices can be voided; a draft changes until finalized")
    if row["status"] == "void" or session.get(InvoiceVoid, row["invoice_id"]) is not None:
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
        invoice_id=row["invoice_id"],
        subscription_id=row["subscription_id"],
        period_start=row["period_start"],
        reason=reason,
        voided_at=now,
    )
    session.add(void)
    session.commit()
    return void


def billing_details(session: Session, tenant_id: str) -> dict | None:
    """The tenant's billing details (name, e-mail) shown on its invoices, if it has a profile."""
    tenant = session.get(Tenant, tenant_id)
    return {"name": tenant.name, "email": tenant.email} if tenant else None


@dataclass(frozen=True)
class FrozenDocument:
    content: bytes
    sha256: str
    filename: str


def frozen_document(reader: MartReader, row: dict) -> FrozenDocument:
    """The PDF frozen when the served invoice ``row`` was finalized: the stored bytes, never
    rendered again. NotFound for a draft (it has none until finalized) and for an invoice
    finalized before PDFs were kept."""
    invoice_id = row["invoice_id"]
    if row["status"] == "draft":
        raise NotFound(
            f"invoice_id {invoice_id!r} is a draft: its PDF is made when it is finalized"
        )
    try:
        found, _ = reader.query(
            "select content_sha256, content_base64 from {fct_invoice_documents} "
            "where invoice_id = :id",
            {"id": invoice_id},
        )
    except MissingTable:
        found = []
    if not found:
        raise NotFound(f"invoice_id {invoice_id!r} has no PDF (finalized before PDFs were kept)")
    return FrozenDocument(
        content=base64.b64decode(found[0]["content_base64"]),
        sha256=found[0]["content_sha256"],
        filename=f"{row['invoice_number'] or invoice_id}.pdf",
    )


def _plain(value) -> str:
    return format(Decimal(value).normalize(), "f")


def finalized_view(row: dict, lines: list[dict]) -> SimpleNamespace:
    """A just-finalized invoice (rows of ``raw.finalized_invoices`` / ``_lines``) with the
    attributes ``render_invoice`` reads, money formatted as the API formats it. Its payment
    status is the one at finalization: collection starts afterwards, so the amount is due."""
    currency = row["currency"]
    money = {
        field: money_text(row[column], currency)
        for field, column in (
            ("subtotal", "subtotal_amount"),
            ("discount", "discount_amount"),
            ("tax", "tax_amount"),
            ("credits", "credit_amount"),
            ("total", "total_amount"),
        )
    }
    due = Decimal(row["total_amount"]) > 0
    return SimpleNamespace(
        id=row["invoice_id"],
        number=row["invoice_number"],
        status="finalized",
        tenant_id=row["tenant_id"],
        subscription_id=row["subscription_id"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        currency=currency,
        tax_rate_percentage=_plain(row["tax_rate_percentage"]),
        finalized_at=row["finalized_at"],
        payment_status="due at issue" if due else "nothing due",
        lines=[
            SimpleNamespace(
                kind=line["line_kind"],
                description=line["description"],
                quantity=None if line["quantity"] is None else _plain(line["quantity"]),
                amount=money_text(line["amount"], currency),
            )
            for line in lines
        ],
        **money,
    )


def invoice_pdf(
    row: dict, lines: list[dict], tenant: dict | None, to_pdf: Callable[[str], bytes]
) -> bytes:
    """The PDF of a just-finalized invoice: its HTML page (``render_invoice``, the template
    the API serves as ``/html``) printed by ``to_pdf``."""
    return to_pdf(render_invoice(finalized_view(row, lines), tenant))


def render_invoice(invoice, tenant: dict | None = None) -> str:
    """A printable HTML page of an invoice (an ``InvoicePublic``, or ``finalized_view``: its
    fields, lines and amounts as the API shows them), with the tenant's billing details."""
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
    billed = ""
    if tenant is not None:
        contact = f"<br>{e(tenant['email'])}" if tenant.get("email") else ""
        name = e(tenant["name"] or invoice.tenant_id)
        billed = f"<div class='billed'>Billed to <b>{name}</b>{contact}</div>"
    issued = f" · issued {invoice.finalized_at:%Y-%m-%d}" if invoice.finalized_at else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
  @page {{ size: A4; margin: 1.5cm; }}
  body {{ font-family: system-ui, "DejaVu Sans", sans-serif; margin: 2.5rem; color: #222; }}
  h1 {{ margin-bottom: 0; }} .meta {{ color: #555; margin-bottom: 1.5rem; }}
  .billed {{ margin: 1rem 0; }}
  table {{ width: 100%; border-collapse: collapse; }}
  th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .3rem; text-align: left; }}
  .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
  tfoot td {{ font-weight: 600; }} .stamp {{ color: #b00; font-size: 2rem; }}
  tr.discount td, tr.credit td {{ color: #2a7; }}
  @media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>{e(title)} <span class="stamp">{e(stamp)}</span></h1>
{billed}
<div class="meta">Tenant {e(invoice.tenant_id)} · subscription {e(invoice.subscription_id)}<br>
Billing period {invoice.period_start} to {invoice.period_end} (exclusive) ·
currency {e(invoice.currency)} · status {e(invoice.status)}{issued}{payment}</div>
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
