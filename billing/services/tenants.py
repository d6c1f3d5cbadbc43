"""Tenants' billing profiles, the tax rates on their invoices, and credit grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import CreditGrantCreate, TaxRateCreate, TenantUpdate
from billing.control_plane.models import CreditGrant, TaxRate, Tenant, TenantTaxRate
from billing.errors import Conflict, Invalid, NotFound
from billing.services.plans import check_amount, check_currency
from billing.services.rows import get_row


# ----------------------------------------------------------------------------- tax rates
def list_tax_rates(session: Session) -> list[TaxRate]:
    return list(session.scalars(select(TaxRate).order_by(TaxRate.code)).all())


def create_tax_rate(session: Session, body: TaxRateCreate) -> TaxRate:
    if session.get(TaxRate, body.code) is not None:
        raise Conflict(f"tax rate {body.code!r} already exists")
    row = TaxRate(code=body.code, name=body.name, percentage=body.percentage)
    session.add(row)
    session.commit()
    return row


def archive_tax_rate(session: Session, code: str, now: datetime) -> TaxRate:
    """The rate stops applying to invoices not finalized yet."""
    row = get_row(session, TaxRate, code, f"tax rate {code!r} not found")
    row.archived_at = now
    session.commit()
    return row


# ----------------------------------------------------------------------------- profiles
def tax_rate_codes(session: Session, tenant_id: str) -> list[str]:
    """The tax rates on a tenant's invoices, by code."""
    return list(
        session.scalars(
            select(TenantTaxRate.tax_rate_code)
            .where(TenantTaxRate.tenant_id == tenant_id)
            .order_by(TenantTaxRate.tax_rate_code)
        ).all()
    )


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.tenant_id)).all())


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} has no billing profile")
    return tenant


def put_tenant(session: Session, tenant_id: str, body: TenantUpdate) -> Tenant:
    """Create or replace a tenant's billing profile and its tax rates (active ones, each
    once)."""
    for i, code in enumerate(body.tax_rates):
        rate = session.get(TaxRate, code)
        if rate is None or rate.archived_at is not None:
            raise Invalid(f"no active tax rate {code!r}", f"tax_rates[{i}]")
    if len(set(body.tax_rates)) != len(body.tax_rates):
        raise Invalid("lists a rate twice", "tax_rates")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        tenant = Tenant(tenant_id=tenant_id)
        session.add(tenant)
    tenant.name = body.name
    tenant.email = body.email
    session.flush()
    for row in session.scalars(select(TenantTaxRate).where(TenantTaxRate.tenant_id == tenant_id)):
        session.delete(row)
    session.flush()
    for code in body.tax_rates:
        session.add(TenantTaxRate(tenant_id=tenant_id, tax_rate_code=code))
    session.commit()
    return tenant


# ----------------------------------------------------------------------------- credits
def list_credits(session: Session, tenant_id: str) -> list[CreditGrant]:
    return list(
        session.scalars(
            select(CreditGrant).where(CreditGrant.tenant_id == tenant_id).order_by(CreditGrant.id)
        ).all()
    )


def grant_credit(
    session: Session, tenant_id: str, body: CreditGrantCreate, now: datetime
) -> CreditGrant:
    """Credit pays invoices after tax, from the current billing period on."""
    check_currency(body.currency)
    check_amount(body.amount, "amount")
    row = CreditGrant(
        tenant_id=tenant_id,
        currency=body.currency,
        amount=body.amount,
        reason=body.reason,
        granted_at=now,
    )
    session.add(row)
    session.commit()
    return row
