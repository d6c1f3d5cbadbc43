"""Tenants' wallets, their grants and their ledger (docs/wallets.md). Writes are admin-only;
a tenant key reads its own wallets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, CallerDep, ClockDep, ReaderDep, SessionDep, scoped_tenant
from api.schemas.common import from_attrs
from api.schemas.wallets import (
    LedgerEntriesPublic,
    LedgerEntryPublic,
    WalletBalancePublic,
    WalletGrantPublic,
    WalletPublic,
    WalletsPublic,
)
from billing.control_plane.commands import MAX_DB_INTEGER, RowId, WalletCreate, WalletGrantCreate
from billing.services import wallets as logic

router = APIRouter(prefix="/tenants/{tenant_id}/wallets", tags=["wallets"])


@router.post("", response_model=WalletPublic, status_code=201)
def create_wallet(
    tenant_id: str, body: WalletCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    """A wallet in one currency; among a tenant's wallets, priority 1 burns first."""
    return from_attrs(WalletPublic, logic.create_wallet(session, tenant_id, body, clock()))


@router.get("", response_model=WalletsPublic)
def list_wallets(tenant_id: str, session: SessionDep, caller: CallerDep):
    scoped_tenant(caller, tenant_id)
    rows = logic.list_wallets(session, tenant_id)
    return WalletsPublic(data=[from_attrs(WalletPublic, r) for r in rows], count=len(rows))


@router.post("/{wallet_id}/grants", response_model=WalletGrantPublic, status_code=201)
def add_grant(
    tenant_id: str,
    wallet_id: RowId,
    body: WalletGrantCreate,
    session: SessionDep,
    _admin: AdminDep,
    clock: ClockDep,
):
    """Grant value to a wallet: paid, promotional, recurring or a contract's commit."""
    wallet = logic.get_wallet(session, tenant_id, wallet_id)
    return from_attrs(WalletGrantPublic, logic.add_grant(session, wallet, body, clock()))


@router.get("/{wallet_id}", response_model=WalletBalancePublic)
def read_wallet(
    tenant_id: str, wallet_id: RowId, session: SessionDep, caller: CallerDep, reader: ReaderDep
):
    """The wallet, its grants and its balance derived from its ledger."""
    scoped_tenant(caller, tenant_id)
    wallet = logic.get_wallet(session, tenant_id, wallet_id)
    totals = logic.balance(logic.ledger(session, reader, wallet))
    grants = [from_attrs(WalletGrantPublic, g) for g in logic.grants(session, wallet.id)]
    return from_attrs(WalletBalancePublic, wallet, grants=grants, **totals)


@router.get("/{wallet_id}/ledger", response_model=LedgerEntriesPublic)
def read_ledger(
    tenant_id: str,
    wallet_id: RowId,
    session: SessionDep,
    caller: CallerDep,
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """The wallet's ledger entries, oldest first (grants, consumption, breakage, reversals)."""
    scoped_tenant(caller, tenant_id)
    wallet = logic.get_wallet(session, tenant_id, wallet_id)
    entries = logic.ledger(session, reader, wallet)
    page = [
        from_attrs(LedgerEntryPublic, e, kind=e.entry_kind)
        for e in entries[offset : offset + limit]
    ]
    return LedgerEntriesPublic(data=page, count=len(entries), limit=limit, offset=offset)
