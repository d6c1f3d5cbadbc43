"""Quotas and budgets: limits per tenant, the hot-path quota check and quota status."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool

from api.deps import (
    OWN_TENANT_ONLY,
    AdminDep,
    CallerDep,
    ClockDep,
    SessionDep,
    _api_key_header,
    _bearer,
    check_visible,
    scoped_tenant,
)
from api.schemas.alerts import BudgetPublic, BudgetsPublic
from api.schemas.common import from_attrs
from api.schemas.quotas import QuotaCheck, QuotaPublic, QuotasPublic, QuotaStatus, QuotaStatusPublic
from billing import security
from billing.control_plane.commands import BudgetIn, QuotaCreate, QuotaUpdate, RowId
from billing.control_plane.models import ResourceQuota, TenantBudget
from billing.errors import NotFound
from billing.rules.alerts import period_bounds
from billing.services import quotas as logic

router = APIRouter(tags=["quotas"])


def _levels(row: ResourceQuota | TenantBudget) -> list[Decimal]:
    return [Decimal(t) for t in row.alert_thresholds]


def _public(row: ResourceQuota) -> QuotaPublic:
    return from_attrs(QuotaPublic, row, meter=row.meter_key, alert_thresholds=_levels(row))


@router.get("/quotas", response_model=QuotasPublic)
def list_quotas(session: SessionDep, caller: CallerDep, tenant_id: str | None = None):
    rows = logic.list_quotas(session, scoped_tenant(caller, tenant_id))
    return QuotasPublic(data=[_public(r) for r in rows], count=len(rows))


@router.post("/quotas", response_model=QuotaPublic, status_code=201)
def create_quota(
    body: QuotaCreate, request: Request, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    row = logic.create_quota(session, body, clock())
    request.app.state.quota_cache.refresh()
    return _public(row)


@router.get("/quotas/{quota_id}", response_model=QuotaPublic)
def get_quota(quota_id: RowId, session: SessionDep, caller: CallerDep):
    row = logic.get_quota(session, quota_id)
    check_visible(caller, row.tenant_id, f"quota {quota_id} not found")
    return _public(row)


@router.patch("/quotas/{quota_id}", response_model=QuotaPublic)
def update_quota(
    quota_id: RowId,
    body: QuotaUpdate,
    request: Request,
    session: SessionDep,
    _admin: AdminDep,
    clock: ClockDep,
):
    row = logic.update_quota(session, quota_id, body, clock())
    request.app.state.quota_cache.refresh()
    return _public(row)


@router.delete("/quotas/{quota_id}", response_model=QuotaPublic)
def delete_quota(quota_id: RowId, request: Request, session: SessionDep, _admin: AdminDep):
    row = logic.delete_quota(session, quota_id)
    request.app.state.quota_cache.refresh()
    return _public(row)


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials else None


@router.get(
    "/quotas/{tenant_id}/check",
    response_model=QuotaCheck,
    dependencies=[Security(_bearer), Security(_api_key_header)],  # documented, read below
)
async def check_quota(
    tenant_id: str,
    request: Request,
    meter: Annotated[str, Query(min_length=1)],
    quantity: Annotated[Decimal, Query(ge=0)] = Decimal(0),
):
    """May the tenant use ``quantity`` more of ``meter`` this period? The callers' hot path:
    answered from the in-process quota cache (``api.quota_cache``), without a database read
    or a thread hop; real-time totals reach it at most 0.1 s after the consumer commits them."""
    state = request.app.state
    cache = state.quota_cache
    presented = _presented_key(request)
    if not presented:
        raise HTTPException(
            401,
            "an API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not security.is_admin_key(presented, state.admin_key):
        tenant = cache.cached_tenant(presented)
        if tenant is None:
            tenant = await run_in_threadpool(cache.tenant_of, presented)
        if tenant is None:
            raise HTTPException(
                401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if tenant != tenant_id:
            raise HTTPException(403, OWN_TENANT_ONLY)
    quantity = logic.check_quantity(quantity, "quantity")
    period, _ = period_bounds(state.clock())
    if cache.is_stale():
        await run_in_threadpool(cache.refresh)
    quota, used, meter_exists = cache.lookup(tenant_id, meter, period)
    if quota is None and used is None and not meter_exists:
        raise NotFound(f"meter {meter!r} not found")
    used = used if used is not None else Decimal(0)
    decision = logic.decide(quota, used, quantity)
    return QuotaCheck(
        tenant_id=tenant_id,
        meter=meter,
        period_start=period,
        used=used,
        quantity=quantity,
        allowed=decision.allowed,
        warning=decision.warning,
        remaining=decision.remaining,
        limit=decision.limit,
        enforcement=decision.enforcement,
    )


@router.get("/quotas/{tenant_id}/status", response_model=QuotaStatusPublic)
def quota_status(tenant_id: str, session: SessionDep, caller: CallerDep, clock: ClockDep):
    """Every quota of the tenant with this period's real-time usage."""
    scoped_tenant(caller, tenant_id)
    period, _ = period_bounds(clock())
    data = [
        QuotaStatus(
            id=u.quota.id,
            meter=u.quota.meter_key,
            limit=u.quota.limit,
            enforcement=u.quota.enforcement,
            used=u.used,
            remaining=u.remaining,
            percent_used=u.percent_used,
            thresholds_reached=u.thresholds_reached,
        )
        for u in logic.quota_status(session, tenant_id, period)
    ]
    return QuotaStatusPublic(tenant_id=tenant_id, period_start=period, data=data)


# ----------------------------------------------------------------------------- budgets
def _budget_public(row: TenantBudget) -> BudgetPublic:
    return from_attrs(BudgetPublic, row, alert_thresholds=_levels(row))


@router.get("/budgets", response_model=BudgetsPublic)
def list_budgets(session: SessionDep, caller: CallerDep, tenant_id: str | None = None):
    rows = logic.list_budgets(session, scoped_tenant(caller, tenant_id))
    return BudgetsPublic(data=[_budget_public(r) for r in rows], count=len(rows))


@router.put("/budgets/{tenant_id}", response_model=BudgetPublic)
def put_budget(
    tenant_id: str, body: BudgetIn, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    """Set a tenant's monthly budget (replaces the previous one)."""
    row = logic.put_budget(session, tenant_id, body, clock())
    return _budget_public(row)


@router.delete("/budgets/{tenant_id}", response_model=BudgetPublic)
def delete_budget(tenant_id: str, session: SessionDep, _admin: AdminDep):
    return _budget_public(logic.delete_budget(session, tenant_id))
