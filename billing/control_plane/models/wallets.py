"""Wallets and their grants (prepaid value a tenant's invoices burn down).

Grants are append-only: never updated or deleted. Consumption, breakage and reversals are
written by invoice finalization into the warehouse ledger (``raw.wallet_ledger_entries``); a
balance is always derived from the grants and that ledger, never stored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base
from billing.rules.events import utc_now


class Wallet(Base):
    """A tenant's wallet in one currency; priority 1 burns first."""

    __tablename__ = "wallets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class WalletGrant(Base):
    """Value added to a wallet: paid, promotional, recurring or a contract's prepaid commit
    (``source_ref`` names its origin, e.g. the contract)."""

    __tablename__ = "wallet_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(300), default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
