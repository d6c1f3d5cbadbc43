"""The wallet ledger in the warehouse (``raw.wallet_ledger_entries``), written by finalization.

Grants live in the control plane (snapshotted as ``raw.control_wallet_grants``); every other
entry is appended here, never updated or deleted, with its cause:

- ``consumption`` (negative): a finalized invoice paid by a grant; cause and ``invoice_id`` are
  the invoice. Its id is ``consumption|<invoice>|<grant>``, so an invoice consumes a grant once.
- ``reversal`` (positive): the consumption of an invoice since voided, given back to the same
  grant (the re-issued invoice then consumes again, in the burn order).
- ``breakage`` (negative): the remainder of a grant expired by the finalization run's time
  and by the end of the period it finalized (periods finalize in order, so every invoice the
  grant could pay has had it); cause ``expiry run <time>``.

A grant's remainder is its amount plus the sum of its entries here (``billing.rules.wallets``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from billing.ports import WarehouseConnection
from billing.rules.wallets import Burn, GrantBalance, burn, expired

Balances = dict[tuple[str, str], list[GrantBalance]]  # (tenant, currency) -> grants

INSERT_ENTRY = (
    "insert into raw.wallet_ledger_entries (entry_id, entry_kind, wallet_id, grant_id, "
    "tenant_id, currency, amount, invoice_id, cause, entry_at) values (:entry_id, :kind, "
    ":wallet_id, :grant_id, :tenant_id, :currency, :amount, :invoice_id, :cause, :now) "
    "on conflict (entry_id) do nothing"
)


def has_wallets(con: WarehouseConnection) -> bool:
    return con.table_exists("raw", "control_wallet_grants") and con.table_exists(
        "raw", "control_wallets"
    )


def load_balances(con: WarehouseConnection) -> Balances:
    """Every grant with what is left of it, per tenant and currency."""
    rows = con.fetchall(
        "select g.tenant_id, g.currency, g.id, g.wallet_id, w.priority, g.granted_at, "
        "g.expires_at, g.amount + coalesce((select sum(e.amount) "
        "  from raw.wallet_ledger_entries e where e.grant_id = g.id), 0) "
        "from raw.control_wallet_grants g join raw.control_wallets w on w.id = g.wallet_id "
        "order by g.id"
    )
    out: Balances = defaultdict(list)
    for tenant, currency, gid, wid, priority, granted, expires, left in rows:
        out[(tenant, currency)].append(
            GrantBalance(int(gid), int(wid), int(priority), granted, expires, Decimal(left))
        )
    return out


def _spend(balances: Balances, key: tuple[str, str], burns: list[Burn]) -> None:
    taken = {b.grant_id: b.amount for b in burns}
    balances[key] = [
        GrantBalance(**{**g.__dict__, "remaining": g.remaining - taken.get(g.grant_id, 0)})
        for g in balances.get(key, [])
    ]


def _append(con, kind: str, entry_id: str, key, b: Burn, invoice_id, cause: str, now) -> None:
    """Append one entry of ``b.amount`` (signed as given)."""
    tenant_id, currency = key
    con.execute(
        INSERT_ENTRY,
        {
            "entry_id": entry_id,
            "kind": kind,
            "wallet_id": b.wallet_id,
            "grant_id": b.grant_id,
            "tenant_id": tenant_id,
            "currency": currency,
            "amount": b.amount,
            "invoice_id": invoice_id,
            "cause": cause,
            "now": now,
        },
    )


def record_reversals(con: WarehouseConnection, now: datetime) -> int:
    """Give back the consumption of every voided invoice not reversed yet."""
    rows = con.fetchall(
        "select c.entry_id, c.wallet_id, c.grant_id, c.tenant_id, c.currency, c.amount, "
        "c.invoice_id from raw.wallet_ledger_entries c "
        "join raw.control_invoice_voids v on v.invoice_id = c.invoice_id "
        "where c.entry_kind = 'consumption' and not exists (select 1 from "
        "raw.wallet_ledger_entries r where r.entry_id = 'reversal|' || c.entry_id)"
    )
    for entry_id, wid, gid, tenant, currency, amount, invoice_id in rows:
        back = Burn(int(gid), int(wid), -Decimal(amount))
        key, cause = (tenant, currency), f"void of {invoice_id}"
        _append(con, "reversal", f"reversal|{entry_id}", key, back, invoice_id, cause, now)
    return len(rows)


def consume(
    con: WarehouseConnection,
    balances: Balances,
    invoice: dict,
    wallet_names: dict[int, str],
    now: datetime,
    not_paid: Decimal = Decimal(0),
) -> list[tuple[int, str, Decimal]]:
    """Burn the tenant's grants for what ``invoice`` still owes after credits, less
    ``not_paid`` (a prepaid commit's instalment: grants do not pay for themselves); append the
    consumption entries and return the invoice's wallet lines (wallet id, description,
    amount paid), in the burn order of their first grant."""
    key = (invoice["tenant_id"], invoice["currency"])
    due = Decimal(invoice["total_amount"]) - not_paid
    if due <= 0 or not balances.get(key):
        return []
    period_end = invoice["period_end"]
    if isinstance(period_end, date) and not isinstance(period_end, datetime):
        period_end = datetime.combine(period_end, time())
    burns = burn(due, balances[key], period_end)
    per_wallet: dict[int, Decimal] = {}
    invoice_id = invoice["invoice_id"]
    for b in burns:
        entry = Burn(b.grant_id, b.wallet_id, -b.amount)
        entry_id = f"consumption|{invoice_id}|{b.grant_id}"
        _append(con, "consumption", entry_id, key, entry, invoice_id, f"invoice {invoice_id}", now)
        per_wallet[b.wallet_id] = per_wallet.get(b.wallet_id, Decimal(0)) + b.amount
    _spend(balances, key, burns)
    return [
        (wid, f"Wallet {wallet_names.get(wid) or wid} applied", amount)
        for wid, amount in per_wallet.items()
    ]


def record_breakage(
    con: WarehouseConnection, balances: Balances, now: datetime, until: datetime | None = None
) -> int:
    """The remainder of every grant expired by ``now`` (and by ``until``: the end of the period
    just finalized, so a grant is not broken while an invoice it can pay is still to be
    finalized) becomes a breakage entry."""
    count = 0
    by = now if until is None else min(now, until)
    for key, grants in list(balances.items()):
        breaks = expired(grants, by)
        for b in breaks:
            reversals = con.fetchone(
                "select count(*) from raw.wallet_ledger_entries "
                "where grant_id = :g and entry_kind = 'reversal'",
                {"g": b.grant_id},
            )
            entry = Burn(b.grant_id, b.wallet_id, -b.amount)
            cause = f"expiry run {now.isoformat(sep=' ')}"
            entry_id = f"breakage|{b.grant_id}|{reversals[0]}"
            _append(con, "breakage", entry_id, key, entry, None, cause, now)
        _spend(balances, key, breaks)
        count += len(breaks)
    return count


def wallet_names(con: WarehouseConnection) -> dict[int, str]:
    return {int(i): n for i, n in con.fetchall("select id, name from raw.control_wallets")}
