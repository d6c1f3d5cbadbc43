"""Contracts: a tenant's term with a prepaid or a postpaid commit and price ramps. A ramp is one
version of the subscription's overrides (``SubscriptionOverrideVersion``), so a contract has no
pricing of its own; a prepaid commit is a wallet grant (``WalletGrant``, kind ``contract``), so
it has no balance of its own, only its invoice schedule (``ContractCommitInstalment``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import Boolean, Date, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base
from billing.control_plane.models.overrides import SubscriptionOverrideVersion
from billing.rules.events import utc_now


class Contract(Base):
    """A tenant's subscription bound to a term ``[starts_on, ends_on)`` (period starts)."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    postpaid_commit_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    prepaid_commit_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    prepaid_commit_rollover: Mapped[bool] = mapped_column(Boolean, default=False)
    prepaid_grant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)

    ramps: Mapped[list[ContractRamp]] = relationship(
        order_by="ContractRamp.ramp_index", cascade="all, delete-orphan"
    )
    instalments: Mapped[list[ContractCommitInstalment]] = relationship(
        order_by="ContractCommitInstalment.instalment_index", cascade="all, delete-orphan"
    )


class ContractRamp(Base):
    """A price phase of a contract: the override version it wrote, effective from its start."""

    __tablename__ = "contract_ramps"
    __table_args__ = (UniqueConstraint("contract_id", "ramp_index", name="uq_contract_ramps"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    ramp_index: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    override_version_id: Mapped[int] = mapped_column(
        ForeignKey("subscription_override_versions.id")
    )

    override_version: Mapped[SubscriptionOverrideVersion] = relationship()


class ContractCommitInstalment(Base):
    """One invoice of a prepaid commit: the amount billed on the invoice of ``period_start``."""

    __tablename__ = "contract_commit_instalments"
    __table_args__ = (
        UniqueConstraint("contract_id", "instalment_index", name="uq_contract_instalments"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    instalment_index: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
