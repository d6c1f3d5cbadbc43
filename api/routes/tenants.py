"""Tenants' billing profiles, tax rates and credit grants (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, scoped_tenant
from api.schemas.tenants import (
    CreditGrantPublic,
    CreditGrantsPublic,
    TaxRatePublic,
    TaxRatesPublic,
    TenantPublic,
    TenantsPublic,
)
from billing.control_plane.commands import CreditGrantCreate, TaxRateCreate, TenantUpdate
from billing.control_plane.models import CreditGrant, TaxRate, Tenant, TenantTaxRate
from billing.errors import Conflict, Invalid, NotFound
from billing.services.plans import check_amount, check_currency

router = APIRouter(tags=["tenants"])


@router.get("/tax-rates", response_model=TaxRatesPublic)
def list_tax_rates(session: SessionDep, _caller: CallerDep):
    rows = session.scalars(select(TaxRate).order_by(TaxRate.code)).all()
    return TaxRatesPublic(
        data=[TaxRatePublic.model_validate(r, from_attributes=True) for r in rows], count=len(rows)
    )


@router.post("/tax-rates", response_model=TaxRatePublic, status_code=201)
def create_tax_rate(body: TaxRateCreate, session: SessionDep, _admin: AdminDep):
    if session.get(TaxRate, body.code) is not None:
        raise Conflict(f"tax rate {body.code!r} already exists")
    row = TaxRate(code=body.code, name=body.name, percentage=body.percentage)
    session.add(row)
    session.commit()
    return TaxRatePublic.model_validate(row, from_attributes=True)


@router.delete("/tax-rates/{code}", response_model=TaxRatePublic)
def archive_tax_rate(code: str, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    """Archive a rate: it stops applying to invoices not finalized yet."""
    row = session.get(TaxRate, code)
    if row is None:
        raise NotFound(f"tax rate {code!r} not found")
    row.archived_at = clock()
    session.commit()
    return TaxRatePublic.model_validate(row, from_attributes=True)


def _tenant_public(session, tenant: Tenant) -> TenantPublic:
    codes = session.scalars(
        select(TenantTaxRate.tax_rate_code)
        .where(TenantTaxRate.tenant_id == tenant.tenant_id)
        .order_by(TenantTaxRate.tax_rate_code)
    ).all()
    return TenantPublic(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        email=tenant.email,
        tax_rates=list(codes),
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
    )


@router.get("/tenants", response_model=TenantsPublic)
def list_tenants(session: SessionDep, _admin: AdminDep):
    rows = session.scalars(select(Tenant).order_by(Tenant.tenant_id)).all()
    return TenantsPublic(data=[_tenant_public(session, t) for t in rows], count=len(rows))


@router.get("/tenants/{tenant_id}", response_model=TenantPublic)
def get_tenant(tenant_id: str, session: SessionDep, caller: CallerDep):
    scoped_tenant(caller, tenant_id)
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} has no billing profile")
    return _tenant_public(session, tenant)


@router.put("/tenants/{tenant_id}", response_model=TenantPublic)
def put_tenant(tenant_id: str, body: TenantUpdate, session: SessionDep, _admin: AdminDep):
    """Create or replace a tenant's billing profile and the tax rates on its invoices."""
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
    return _tenant_public(session, tenant)


@router.get("/tenants/{tenant_id}/credits", response_model=CreditGrantsPublic)
def list_credits(tenant_id: str, session: SessionDep, caller: CallerDep):
    scoped_tenant(caller, tenant_id)
    rows = session.scalars(
        select(CreditGrant).where(CreditGrant.tenant_id == tenant_id).order_by(CreditGrant.id)
    ).all()
    return CreditGrantsPublic(
        data=[CreditGrantPublic.model_validate(r, from_attributes=True) for r in rows],
        count=len(rows),
    )


@router.post("/tenants/{tenant_id}/credits", response_model=CreditGrantPublic, status_code=201)
def grant_credit(
    tenant_id: str,
    body: CreditGrantCreate,
    session: SessionDep,
    _admin: AdminDep,
    clock: ClockDep,
):
    """Grant credit: it pays invoices after tax, from the current billing period on."""
    check_currency(body.currency)
    check_amount(body.amount, "amount")
    row = CreditGrant(
        tenant_id=tenant_id,
        currency=body.currency,
        amount=body.amount,
        reason=body.reason,
        granted_at=clock(),
    )
    session.add(row)
    session.commit()
    return CreditGrantPublic.model_validate(row, from_attributes=True)
