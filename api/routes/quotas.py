"""Quotas and budgets: limits per tenant, the hot-path quota check and quota status."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import (
    OWN_TENANT_ONLY,
    AdminDep,
    CallerDep,
    ClockDep,
    SessionDep,
    _api_key_header,
    _bearer,
    scoped_tenant,
)
from api.schemas.alerts import BudgetPublic, BudgetsPublic
from api.schemas.quotas import QuotaCheck, QuotaPublic, QuotasPublic, QuotaStatus, QuotaStatusPublic
from billing import security
from billing.control_plane.commands import BudgetIn, QuotaCreate, QuotaUpdate, RowId
from billing.control_plane.models import Meter, RealtimeUsage, ResourceQuota, TenantBudget
from billing.errors import Conflict, Invalid, NotFound
from billing.rules.alerts import period_bounds, quota_decision, remaining
from billing.rules.pricing import QUANTITY_PLACES
from billing.services.alerts import decimal_text
from billing.services.plans import check_amount, check_currency

router = APIRouter(tags=["quotas"])

MAX_QUANTITY = Decimal(10) ** 29


def _check_quantity(value: Decimal, field: str) -> Decimal:
    if not value.is_finite() or value < 0 or value >= MAX_QUANTITY:
        raise Invalid("must be a non-negative decimal below 10^29", field)
    if value.normalize().as_tuple().exponent < -QUANTITY_PLACES:
        raise Invalid(f"has more than {QUANTITY_PLACES} decimal places", field)
    return value


def _thresholds(values: list[Decimal]) -> list[str]:
    return sorted({decimal_text(v) for v in values}, key=Decimal)


def _public(row: ResourceQuota) -> QuotaPublic:
    return QuotaPublic(
        id=row.id,
        tenant_id=row.tenant_id,
        meter=row.meter_key,
        period=row.period,
        limit=row.limit,
        enforcement=row.enforcement,
        alert_thresholds=[Decimal(t) for t in row.alert_thresholds],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/quotas", response_model=QuotasPublic)
def list_quotas(session: SessionDep, caller: CallerDep, tenant_id: str | None = None):
    tenant = scoped_tenant(caller, tenant_id)
    query = select(ResourceQuota).order_by(ResourceQuota.tenant_id, ResourceQuota.meter_key)
    if tenant is not None:
        query = query.where(ResourceQuota.tenant_id == tenant)
    rows = session.scalars(query).all()
    return QuotasPublic(data=[_public(r) for r in rows], count=len(rows))


@router.post("/quotas", response_model=QuotaPublic, status_code=201)
def create_quota(
    body: QuotaCreate, request: Request, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    if session.get(Meter, body.meter) is None:
        raise Invalid(f"unknown meter {body.meter!r}", "meter")
    _check_quantity(body.limit, "limit")
    existing = session.scalars(
        select(ResourceQuota)
        .where(ResourceQuota.tenant_id == body.tenant_id)
        .where(ResourceQuota.meter_key == body.meter)
    ).first()
    if existing is not None:
        raise Conflict(
            f"tenant {body.tenant_id!r} already has a quota on {body.meter!r} (id {existing.id})"
        )
    now = clock()
    row = ResourceQuota(
        tenant_id=body.tenant_id,
        meter_key=body.meter,
        period=body.period,
        limit=body.limit,
        enforcement=body.enforcement,
        alert_thresholds=_thresholds(body.alert_thresholds),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"tenant {body.tenant_id!r} already has a quota on {body.meter!r}") from None
    request.app.state.quota_cache.refresh()
    return _public(row)


def _get(session, quota_id: int) -> ResourceQuota:
    row = session.get(ResourceQuota, quota_id)
    if row is None:
        raise NotFound(f"quota {quota_id} not found")
    return row


@router.get("/quotas/{quota_id}", response_model=QuotaPublic)
def get_quota(quota_id: RowId, session: SessionDep, caller: CallerDep):
    row = _get(session, quota_id)
    if not caller.can_see(row.tenant_id):
        raise NotFound(f"quota {quota_id} not found")
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
    row = _get(session, quota_id)
    if body.limit is not None:
        row.limit = _check_quantity(body.limit, "limit")
    if body.enforcement is not None:
        row.enforcement = body.enforcement
    if body.alert_thresholds is not None:
        row.alert_thresholds = _thresholds(body.alert_thresholds)
    row.updated_at = clock()
    session.commit()
    request.app.state.quota_cache.refresh()
    return _public(row)


@router.delete("/quotas/{quota_id}", response_model=QuotaPublic)
def delete_quota(quota_id: RowId, request: Request, session: SessionDep, _admin: AdminDep):
    row = _get(session, quota_id)
    public = _public(row)
    session.delete(row)
    session.commit()
    request.app.state.quota_cache.refresh()
    return public


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
    quantity = _check_quantity(quantity, "quantity")
    period, _ = period_bounds(state.clock())
    if cache.is_stale():
        await run_in_threadpool(cache.refresh)
    quota, used, meter_exists = cache.lookup(tenant_id, meter, period)
    if quota is None and used is None and not meter_exists:
        raise NotFound(f"meter {meter!r} not found")
    used = used if used is not None else Decimal(0)
    if quota is None:
        return QuotaCheck(
            tenant_id=tenant_id,
            meter=meter,
            period_start=period,
            allowed=True,
            warning=False,
            used=used,
            quantity=quantity,
            remaining=None,
            limit=None,
            enforcement=None,
        )
    limit, enforcement = quota
    allowed, warning = quota_decision(enforcement, limit, used, quantity)
    return QuotaCheck(
        tenant_id=tenant_id,
        meter=meter,
        period_start=period,
        allowed=allowed,
        warning=warning,
        used=used,
        quantity=quantity,
        remaining=remaining(limit, used),
        limit=limit,
        enforcement=enforcement,
    )


@router.get("/quotas/{tenant_id}/status", response_model=QuotaStatusPublic)
def quota_status(tenant_id: str, session: SessionDep, caller: CallerDep, clock: ClockDep):
    """Every quota of the tenant with this period's real-time usage."""
    scoped_tenant(caller, tenant_id)
    period, _ = period_bounds(clock())
    quotas = session.scalars(
        select(ResourceQuota)
        .where(ResourceQuota.tenant_id == tenant_id)
        .order_by(ResourceQuota.meter_key)
    ).all()
    data = []
    for q in quotas:
        usage = session.get(RealtimeUsage, (tenant_id, q.meter_key, period))
        used = usage.quantity if usage is not None else Decimal(0)
        percent = (used * 100 / q.limit).quantize(Decimal("0.01")) if q.limit else Decimal(0)
        data.append(
            QuotaStatus(
                id=q.id,
                meter=q.meter_key,
                limit=q.limit,
                enforcement=q.enforcement,
                used=used,
                remaining=remaining(q.limit, used),
                percent_used=percent,
                thresholds_reached=[
                    Decimal(t) for t in q.alert_thresholds if used * 100 >= q.limit * Decimal(t)
                ],
            )
        )
    return QuotaStatusPublic(tenant_id=tenant_id, period_start=period, data=data)


# ----------------------------------------------------------------------------- budgets
def _budget_public(row: TenantBudget) -> BudgetPublic:
    return BudgetPublic(
        tenant_id=row.tenant_id,
        currency=row.currency,
        amount=row.amount,
        alert_thresholds=[Decimal(t) for t in row.alert_thresholds],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/budgets", response_model=BudgetsPublic)
def list_budgets(session: SessionDep, caller: CallerDep, tenant_id: str | None = None):
    tenant = scoped_tenant(caller, tenant_id)
    query = select(TenantBudget).order_by(TenantBudget.tenant_id)
    if tenant is not None:
        query = query.where(TenantBudget.tenant_id == tenant)
    rows = session.scalars(query).all()
    return BudgetsPublic(data=[_budget_public(r) for r in rows], count=len(rows))


@router.put("/budgets/{tenant_id}", response_model=BudgetPublic)
def put_budget(
    tenant_id: str, body: BudgetIn, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    """Set a tenant's monthly budget (replaces the previous one)."""
    currency = check_currency(body.currency)
    check_amount(body.amount, "amount")
    now = clock()
    row = session.get(TenantBudget, tenant_id)
    if row is None:
        row = TenantBudget(tenant_id=tenant_id, created_at=now)
        session.add(row)
    row.currency = currency
    row.amount = body.amount
    row.alert_thresholds = _thresholds(body.alert_thresholds)
    row.updated_at = now
    session.commit()
    return _budget_public(row)


@router.delete("/budgets/{tenant_id}", response_model=BudgetPublic)
def delete_budget(tenant_id: str, session: SessionDep, _admin: AdminDep):
    row = session.get(TenantBudget, tenant_id)
    if row is None:
        raise NotFound(f"tenant {tenant_id!r} has no budget")
    public = _budget_public(row)
    session.delete(row)
    session.commit()
    return public
