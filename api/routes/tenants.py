"""Tenants' billing profiles, tax rates and credit grants (admin)."""

from __future__ import annotations

from fastapi import APIRouter

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
from billing.control_plane.models import Tenant
from billing.services import tenants as logic

router = APIRouter(tags=["tenants"])


@router.get("/tax-rates", response_model=TaxRatesPublic)
def list_tax_rates(session: SessionDep, _caller: CallerDep):
    rows = logic.list_tax_rates(session)
    return TaxRatesPublic(
        data=[TaxRatePublic.model_validate(r, from_attributes=True) for r in rows], count=len(rows)
    )


@router.post("/tax-rates", response_model=TaxRatePublic, status_code=201)
def create_tax_rate(body: TaxRateCreate, session: SessionDep, _admin: AdminDep):
    return TaxRatePublic.model_validate(logic.create_tax_rate(session, body), from_attributes=True)


@router.delete("/tax-rates/{code}", response_model=TaxRatePublic)
def archive_tax_rate(code: str, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    """Archive a rate: it stops applying to invoices not finalized yet."""
    row = logic.archive_tax_rate(session, code, clock())
    return TaxRatePublic.model_validate(row, from_attributes=True)


def _tenant_public(session, tenant: Tenant) -> TenantPublic:
    return TenantPublic.model_validate(
        {
            **{k: getattr(tenant, k) for k in ("tenant_id", "name", "email")},
            "tax_rates": logic.tax_rate_codes(session, tenant.tenant_id),
            **{k: getattr(tenant, k) for k in ("created_at", "updated_at")},
        }
    )


@router.get("/tenants", response_model=TenantsPublic)
def list_tenants(session: SessionDep, _admin: AdminDep):
    rows = logic.list_tenants(session)
    return TenantsPublic(data=[_tenant_public(session, t) for t in rows], count=len(rows))


@router.get("/tenants/{tenant_id}", response_model=TenantPublic)
def get_tenant(tenant_id: str, session: SessionDep, caller: CallerDep):
    scoped_tenant(caller, tenant_id)
    return _tenant_public(session, logic.get_tenant(session, tenant_id))


@router.put("/tenants/{tenant_id}", response_model=TenantPublic)
def put_tenant(tenant_id: str, body: TenantUpdate, session: SessionDep, _admin: AdminDep):
    """Create or replace a tenant's billing profile and the tax rates on its invoices."""
    return _tenant_public(session, logic.put_tenant(session, tenant_id, body))


@router.get("/tenants/{tenant_id}/credits", response_model=CreditGrantsPublic)
def list_credits(tenant_id: str, session: SessionDep, caller: CallerDep):
    scoped_tenant(caller, tenant_id)
    rows = logic.list_credits(session, tenant_id)
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
    row = logic.grant_credit(session, tenant_id, body, clock())
    return CreditGrantPublic.model_validate(row, from_attributes=True)
