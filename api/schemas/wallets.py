"""Response schemas (``*Public``): wallets, grants, balances and ledger entries."""

from __future__ import annotations

from pydantic import BaseModel

from api.schemas.common import Page
from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class WalletPublic(BaseModel):
    id: int
    tenant_id: str
    currency: str
    name: str
    priority: int
    created_at: UtcDateTime


class WalletsPublic(BaseModel):
    data: list[WalletPublic]
    count: int


class WalletGrantPublic(BaseModel):
    id: int
    wallet_id: int
    kind: str
    source_ref: str | None
    amount: Plain
    currency: str
    reason: str
    granted_at: UtcDateTime
    expires_at: UtcDateTime | None


class WalletBalancePublic(WalletPublic):
    """A wallet with its balance, derived from its ledger (``balance = granted - consumed -
    expired``; consumption and breakage as of the last served pipeline run)."""

    granted: Plain
    consumed: Plain
    expired: Plain
    balance: Plain
    grants: list[WalletGrantPublic]


class LedgerEntryPublic(BaseModel):
    entry_id: str
    kind: str
    grant_id: int
    amount: Plain
    invoice_id: str | None
    cause: str
    entry_at: UtcDateTime


class LedgerEntriesPublic(Page[LedgerEntryPublic]):
    pass
