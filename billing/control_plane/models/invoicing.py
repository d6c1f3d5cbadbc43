"""Tenants, tax rates, credit grants and invoice voids."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Date, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base, ExactDecimal
from billing.rules.events import utc_now


class Tenant(Base):
    """A tenant's billing profile (optional: usage is accepted for any tenant id)."""

    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class TaxRate(Base):
    __tablename__ = "tax_rates"

    code: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    percentage: Mapped[Decimal] = mapped_column(ExactDecimal(9, 6))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TenantTaxRate(Base):
    """Tax rates that apply to a tenant's invoices; several rates apply to the same base."""

    __tablename__ = "tenant_tax_rates"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.tenant_id"), primary_key=True)
    tax_rate_code: Mapped[str] = mapped_column(ForeignKey("tax_rates.code"), primary_key=True)


class CreditGrant(Base):
    """Credit granted to a tenant, applied to its invoices after tax, oldest invoice first."""

    __tablename__ = "credit_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(300), default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class InvoiceVoid(Base):
    """A finalized invoice declared void; the period is then invoiced again (re-issued)."""

    __tablename__ = "invoice_voids"

    invoice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300), default="")
    voided_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
