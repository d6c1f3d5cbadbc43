"""Wallets and grants (control plane) and their ledger (grants here, consumption, breakage
and reversals from the served ``fct_wallet_ledger``). A balance is derived from the ledger
every time it is read; nothing stores one. Semantics in docs/wallets.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import WalletCreate, WalletGrantCreate
from billing.control_plane.models import Wallet, WalletGrant
from billing.errors import Invalid, NotFound
from billing.ports import MartReader, MissingTable, NoSnapshot
from billing.rules.pricing import minor_units
from billing.services.plans import check_amount, check_currency, decimal_places
from billing.timeutil import to_utc


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    entry_kind: str
    wallet_id: int
    grant_id: int
    amount: Decimal
    invoice_id: str | None
    cause: str
    entry_at: datetime


def create_wallet(session: Session, tenant_id: str, body: WalletCreate, now: datetime) -> Wallet:
    check_currency(body.currency)
    return _saved(session, Wallet(tenant_id=tenant_id, created_at=now, **body.model_dump()))


def _saved(session: Session, row):
    session.add(row)
    session.commit()
    return row


def list_wallets(session: Session, tenant_id: str) -> list[Wallet]:
    order = (Wallet.currency, Wallet.priority, Wallet.id)
    return list(
        session.scalars(select(Wallet).where(Wallet.tenant_id == tenant_id).order_by(*order))
    )


def get_wallet(session: Session, tenant_id: str, wallet_id: int) -> Wallet:
    row = session.get(Wallet, wallet_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"tenant {tenant_id!r} has no wallet {wallet_id}")
    return row


def add_grant(
    session: Session, wallet: Wallet, body: WalletGrantCreate, now: datetime
) -> WalletGrant:
    """A grant, usable by invoices whose period ends after ``now`` and before it expires."""
    check_amount(body.amount, "amount")
    places = minor_units(wallet.currency)
    if decimal_places(body.amount) > places:
        raise Invalid(f"has more than {places} decimal places for {wallet.currency}", "amount")
    expires_at = to_utc(body.expires_at, None) if body.expires_at is not None else None
    if expires_at is not None and expires_at <= now:
        raise Invalid("must be in the future", "expires_at")
    owner = {"wallet_id": wallet.id, "tenant_id": wallet.tenant_id, "currency": wallet.currency}
    fields = body.model_dump(exclude={"expires_at"})
    return _saved(session, WalletGrant(**owner, **fields, granted_at=now, expires_at=expires_at))


def grants(session: Session, wallet_id: int) -> list[WalletGrant]:
    query = select(WalletGrant).where(WalletGrant.wallet_id == wallet_id)
    return list(session.scalars(query.order_by(WalletGrant.id)))


def ledger(session: Session, reader: MartReader, wallet: Wallet) -> list[LedgerEntry]:
    """Every entry of the wallet, oldest first: its grants (live, from the control plane) and
    the consumption, breakage and reversals finalization appended (as last served)."""
    entries = [
        LedgerEntry(
            f"grant|{g.id}", "grant", wallet.id, g.id, g.amount, None, f"grant {g.id}", g.granted_at
        )
        for g in grants(session, wallet.id)
    ]
    try:
        rows, _ = reader.query(
            "select entry_id, entry_kind, grant_id, amount, invoice_id, cause, entry_at "
            "from {fct_wallet_ledger} where wallet_id = :w and entry_kind <> 'grant'",
            {"w": wallet.id},
        )
    except (NoSnapshot, MissingTable):
        rows = []
    entries += [
        LedgerEntry(
            r["entry_id"],
            r["entry_kind"],
            wallet.id,
            int(r["grant_id"]),
            Decimal(r["amount"]),
            r["invoice_id"],
            r["cause"],
            r["entry_at"],
        )
        for r in rows
    ]
    return sorted(entries, key=lambda e: (e.entry_at, e.entry_kind != "grant", e.entry_id))


def balance(entries: list[LedgerEntry]) -> dict[str, Decimal]:
    """The wallet's balance and its parts, derived from its ledger."""
    totals = {kind: Decimal(0) for kind in ("grant", "consumption", "breakage", "reversal")}
    for e in entries:
        totals[e.entry_kind] += e.amount
    return {
        "granted": totals["grant"],
        "consumed": -(totals["consumption"] + totals["reversal"]),
        "expired": -totals["breakage"],
        "balance": sum(totals.values(), Decimal(0)),
    }
