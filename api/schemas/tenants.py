"""Response schemas (``*Public``): tenants."""

from __future__ import annotations

from pydantic import BaseModel

from billing.control_plane.commands import Plain
from billing.timeutil import UtcDateTime


class TaxRatePublic(BaseModel):
    code: str
    name: str
    percentage: Plain
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class TaxRatesPublic(BaseModel):
    data: list[TaxRatePublic]
    count: int


class TenantPublic(BaseModel):
    tenant_id: str
    name: str
    email: str | None
    tax_rates: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TenantsPublic(BaseModel):
    data: list[TenantPublic]
    count: int


class CreditGrantPublic(BaseModel):
    id: int
    tenant_id: str
    amount: Plain
    currency: str
    reason: str
    granted_at: UtcDateTime


class CreditGrantsPublic(BaseModel):
    data: list[CreditGrantPublic]
    count: int
