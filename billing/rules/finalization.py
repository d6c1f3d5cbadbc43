"""Invoice finalization: draft invoices become immutable, numbered documents.

When a billing period's grace has passed, the drafts dbt built for it are copied, unchanged,
into ``raw.finalized_invoices`` / ``raw.finalized_invoice_lines`` with a sequential number
(``INV-<year>-<000123>``), and the period is recorded as closed: usage landing for it later is
flagged late and reaches the next invoice as an adjustment. Nothing is ever updated or deleted
there, so no later rebuild can alter a finalized invoice; re-running a period finalizes only
what is not finalized yet.

At most one finalization per period runs at a time: a lease lock in the warehouse
(``raw.pipeline_locks``, the pattern ShedLock uses) guards it, whatever schedules or backfills
start runs, and Dagster's run queue also admits one run per partition.

Each invoice's document (its PDF, rendered by the ``document`` callable the caller passes) is
frozen in the same transaction: ``raw.finalized_invoice_documents`` holds its bytes (base64)
and their SHA-256, written once and never re-rendered, so what a tenant downloads later is
byte for byte what was issued.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing.ports import WarehouseConnection
from billing.rules import wallet_ledger
from billing.rules.periods import closes_at, period_end
from billing.timeutil import as_datetime

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"^INV-(\d{4})-(\d{6,})$")
INVOICE_COLUMNS = (
    "invoice_id",
    "subscription_id",
    "tenant_id",
    "period_start",
    "period_end",
    "issue_number",
    "currency",
    "subtotal_amount",
    "discount_amount",
    "tax_rate_percentage",
    "tax_amount",
    "amount_due_before_credits",
    "credit_amount",
    "total_amount",
)
LINE_COLUMNS = (
    "invoice_id",
    "line_number",
    "line_kind",
    "description",
    "service_period_start",
    "plan_id",
    "charge_id",
    "meter_key",
    "quantity",
    "amount",
)


# (finalized invoice row, its lines, the tenant's billing details or None) -> PDF bytes
DocumentRenderer = Callable[[dict, list[dict], dict | None], bytes]


class LockHeld(RuntimeError):
    """Another run holds the lock."""


@dataclass
class FinalizationResult:
    finalized: dict[str, list[str]] = field(default_factory=dict)  # period -> invoice numbers
    closed: list[date] = field(default_factory=list)
    not_due: list[date] = field(default_factory=list)


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(owner: str) -> bool:
    """True if ``owner`` (``host:pid``) is a process of this host that no longer runs: a run
    killed while holding a lease (``kill -9``, a crash) must not block the next run until the
    lease expires. Holders on other hosts are trusted until their lease expires."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextmanager
def lease_lock(
    con: WarehouseConnection, name: str, now: datetime, ttl: timedelta = timedelta(minutes=30)
) -> Iterator[None]:
    """Hold ``name`` until the block ends (or the lease expires, should the holder die)."""
    owner = lock_owner()
    params = {"name": name, "owner": owner, "now": now, "until": now + ttl}
    with con.transaction():
        taken = con.fetchall(
            "insert into raw.pipeline_locks (lock_name, locked_by, locked_at, lock_until) "
            "values (:name, :owner, :now, :until) on conflict (lock_name) do update set "
            "locked_by = excluded.locked_by, locked_at = excluded.locked_at, "
            "lock_until = excluded.lock_until where raw.pipeline_locks.lock_until <= :now "
            "returning locked_by",
            params,
        )
    if not taken:
        holder = con.fetchone(
            "select locked_by, lock_until from raw.pipeline_locks where lock_name = :name",
            {"name": name},
        )
        if holder is not None and holder_is_dead(holder[0]):
            log.warning("taking over %s from %s, which died holding it", name, holder[0])
            with con.transaction():  # only from that dead holder: a live taker wins the race
                taken = con.fetchall(
                    "update raw.pipeline_locks set locked_by = :owner, locked_at = :now, "
                    "lock_until = :until where lock_name = :name and locked_by = :dead "
                    "returning locked_by",
                    {**params, "dead": holder[0]},
                )
        if not taken:
            raise LockHeld(f"{name} is held by {holder[0]} until {holder[1]}")
    try:
        yield
    finally:
        with con.transaction():
            con.execute(
                "update raw.pipeline_locks set lock_until = :now "
                "where lock_name = :name and locked_by = :owner",
                {"name": name, "owner": owner, "now": now},
            )


def _next_sequence(con: WarehouseConnection, year: int) -> int:
    rows = con.fetchall(
        "select invoice_number from raw.finalized_invoices where invoice_number like :prefix",
        {"prefix": f"INV-{year}-%"},
    )
    numbers = [int(m.group(2)) for (n,) in rows if (m := NUMBER_RE.match(n))]
    return max(numbers, default=0) + 1


def _insert_wallet_lines(con: WarehouseConnection, invoice: dict, paid: list) -> None:
    """One ``wallet`` line per wallet that paid the invoice, after its other lines."""
    (last,) = con.fetchone(
        "select coalesce(max(line_number), 0) from raw.finalized_invoice_lines "
        "where invoice_id = :invoice_id",
        {"invoice_id": invoice["invoice_id"]},
    )
    for offset, (_, description, amount) in enumerate(paid, start=1):
        con.execute(
            f"insert into raw.finalized_invoice_lines ({', '.join(LINE_COLUMNS)}) values "
            "(:invoice_id, :line_number, 'wallet', :description, :period, null, null, null, "
            "null, :amount)",
            {
                "invoice_id": invoice["invoice_id"],
                "line_number": int(last) + offset,
                "description": description,
                "period": invoice["period_start"],
                "amount": -amount,
            },
        )


def _freeze_document(
    con: WarehouseConnection, invoice_id: str, now: datetime, document: DocumentRenderer
) -> None:
    """Render the invoice as just stored in ``raw.finalized_*`` (not the draft) and store the
    bytes with their SHA-256, once."""
    columns = (*INVOICE_COLUMNS, "invoice_number", "finalized_at")
    found = con.fetchone(
        f"select {', '.join(columns)} from raw.finalized_invoices where invoice_id = :id",
        {"id": invoice_id},
    )
    row = dict(zip(columns, found, strict=True))
    lines = [
        dict(zip(LINE_COLUMNS, line, strict=True))
        for line in con.fetchall(
            f"select {', '.join(LINE_COLUMNS)} from raw.finalized_invoice_lines "
            "where invoice_id = :id order by line_number",
            {"id": invoice_id},
        )
    ]
    tenant = con.fetchone(
        "select name, email from raw.control_tenants where tenant_id = :tenant",
        {"tenant": row["tenant_id"]},
    )
    details = {"name": tenant[0], "email": tenant[1]} if tenant else None
    pdf = document(row, lines, details)
    con.execute(
        "insert into raw.finalized_invoice_documents (invoice_id, media_type, content_sha256, "
        "content_base64, byte_count, rendered_at) values (:id, 'application/pdf', :sha, :b64, "
        ":size, :now)",
        {
            "id": invoice_id,
            "sha": hashlib.sha256(pdf).hexdigest(),
            "b64": base64.b64encode(pdf).decode("ascii"),
            "size": len(pdf),
            "now": now,
        },
    )


def _prepaid_commits(con: WarehouseConnection, period: date) -> dict[str, Decimal]:
    """The prepaid commit instalment on each draft of ``period`` (wallets do not pay it: it is
    what fills the contract's wallet)."""
    rows = con.fetchall(
        "select l.invoice_id, sum(l.amount) from intermediate.int_invoice_full_lines_draft l "
        "where l.period_start = :p and l.line_kind = 'prepaid_commit' group by l.invoice_id",
        {"p": period},
    )
    return {invoice_id: Decimal(amount) for invoice_id, amount in rows}


def finalize_period(
    con: WarehouseConnection,
    period: date,
    now: datetime,
    document: DocumentRenderer | None = None,
) -> list[str]:
    """Finalize the drafts of ``period`` not finalized yet; close the period. Returns the new
    invoice numbers. The caller holds the period's lock.

    Wallets pay what an invoice still owes after credits, less a prepaid commit's instalment
    on it (``billing.rules.wallet_ledger``):
    their consumption is added to the invoice's ``credit_amount`` and shown as ``wallet``
    lines, in the same transaction as the invoice, so it happens exactly once per invoice.
    With ``document``, each invoice's PDF is frozen with it, wallet lines included (the
    benchmark of rating alone finalizes without)."""
    with con.transaction():
        wallets = wallet_ledger.has_wallets(con)
        if wallets:
            wallet_ledger.record_reversals(con, now)
            balances = wallet_ledger.load_balances(con)
            names = wallet_ledger.wallet_names(con)
        drafts = con.fetchall(
            f"select {', '.join('d.' + c for c in INVOICE_COLUMNS)} "
            "from intermediate.int_invoices_draft d "
            "where d.period_start = :p and (d.line_count > 0 or d.subtotal_amount <> 0) "
            "and not exists (select 1 from raw.finalized_invoices f "
            "  where f.invoice_id = d.invoice_id) "
            "and not exists (select 1 from raw.finalized_invoices f "
            "  where f.subscription_id = d.subscription_id and f.period_start = d.period_start "
            "  and not exists (select 1 from raw.control_invoice_voids v "
            "    where v.invoice_id = f.invoice_id)) "
            "order by d.tenant_id, d.subscription_id",
            {"p": period},
        )
        prepaid = _prepaid_commits(con, period) if wallets else {}
        numbers = []
        sequence = _next_sequence(con, now.year)
        for row in drafts:
            values = dict(zip(INVOICE_COLUMNS, row, strict=True))
            commit = prepaid.get(values["invoice_id"], 0)
            paid = (
                wallet_ledger.consume(con, balances, values, names, now, not_paid=commit)
                if wallets
                else []
            )
            wallet_total = sum((amount for _, _, amount in paid), 0)
            values["credit_amount"] += wallet_total
            values["total_amount"] -= wallet_total
            number = f"INV-{now.year}-{sequence:06d}"
            sequence += 1
            con.execute(
                f"insert into raw.finalized_invoices ({', '.join(INVOICE_COLUMNS)}, "
                "invoice_number, finalized_at) values "
                f"({', '.join(':' + c for c in INVOICE_COLUMNS)}, :number, :now)",
                {**values, "number": number, "now": now},
            )
            con.execute(
                f"insert into raw.finalized_invoice_lines ({', '.join(LINE_COLUMNS)}) "
                f"select {', '.join(LINE_COLUMNS)} from intermediate.int_invoice_full_lines_draft "
                "where invoice_id = :invoice_id",
                {"invoice_id": values["invoice_id"]},
            )
            if paid:
                _insert_wallet_lines(con, values, paid)
            if document is not None:
                _freeze_document(con, values["invoice_id"], now, document)
            numbers.append(number)
        if wallets:
            until = as_datetime(period_end(period))
            wallet_ledger.record_breakage(con, balances, now, until)
        con.execute(
            "insert into raw.closed_billing_periods (period_start, closed_at, closed_by) "
            "values (:p, :now, 'finalization') on conflict (period_start) do nothing",
            {"p": period, "now": now},
        )
    return numbers


def finalize_due_periods(
    con: WarehouseConnection,
    periods: list[date],
    now: datetime,
    grace_hours: int,
    document: DocumentRenderer | None = None,
) -> FinalizationResult:
    """Finalize every period of ``periods`` whose grace has passed."""
    result = FinalizationResult()
    for period in sorted(periods):
        if closes_at(period, grace_hours) > now:
            result.not_due.append(period)
            continue
        with lease_lock(con, f"invoicing:{period.isoformat()}", now):
            numbers = finalize_period(con, period, now, document)
        result.finalized[period.isoformat()] = numbers
        result.closed.append(period)
        if numbers:
            log.info(
                "finalized %s invoices for %s: %s..%s",
                len(numbers),
                period,
                numbers[0],
                numbers[-1],
            )
    return result
