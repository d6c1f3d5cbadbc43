"""Cost centers (hierarchy, owner, monthly budget) and the cost center of each tenant.

Control-plane records written by the admin; the pipeline snapshots them before allocating
cloud cost. `unallocated` is reserved: it is the explicit center of cost no rule claims.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import AdminDep, SessionDep
from api.errors import Conflict, Invalid, NotFound
from api.models import (
    UNALLOCATED,
    CostAllocationRule,
    CostAllocationTarget,
    CostCenter,
    TenantCostCenter,
)
from api.plans import check_amount, check_currency
from api.schemas import (
    CostCenterCreate,
    CostCenterPublic,
    CostCentersPublic,
    CostCenterUpdate,
    TenantCostCenterIn,
    TenantCostCenterPublic,
    TenantCostCentersPublic,
)

router = APIRouter(prefix="/cost-centers", tags=["cloud costs"])
tenants_router = APIRouter(prefix="/tenant-cost-centers", tags=["cloud costs"])


def get_center(session, code: str, field: str | None = None) -> CostCenter:
    center = session.get(CostCenter, code)
    if center is None:
        if field is not None:
            raise Invalid(f"no cost center {code!r}", field)
        raise NotFound(f"cost center {code!r} not found")
    return center


def _check_budget(budget, currency) -> None:
    if budget is not None:
        check_amount(budget, "monthly_budget")
        if currency is None:
            raise Invalid("is required with monthly_budget", "budget_currency")
    if currency is not None:
        check_currency(currency, "budget_currency")


def _check_parent(session, code: str, parent_code: str | None) -> None:
    if parent_code is None:
        return
    parent = get_center(session, parent_code, "parent_code")
    seen = {code}
    while parent is not None:
        if parent.code in seen:
            raise Invalid(f"{parent_code!r} is {code!r} or one of its descendants", "parent_code")
        seen.add(parent.code)
        parent = session.get(CostCenter, parent.parent_code) if parent.parent_code else None


@router.get("", response_model=CostCentersPublic)
def list_cost_centers(session: SessionDep, _admin: AdminDep):
    rows = session.scalars(select(CostCenter).order_by(CostCenter.code)).all()
    return CostCentersPublic(
        data=[CostCenterPublic.model_validate(r) for r in rows], count=len(rows)
    )


@router.post("", response_model=CostCenterPublic, status_code=201)
def create_cost_center(body: CostCenterCreate, session: SessionDep, _admin: AdminDep):
    if body.code == UNALLOCATED:
        raise Invalid(f"{UNALLOCATED!r} is reserved for cost no rule claims", "code")
    if session.get(CostCenter, body.code) is not None:
        raise Conflict(f"cost center {body.code!r} already exists")
    _check_parent(session, body.code, body.parent_code)
    _check_budget(body.monthly_budget, body.budget_currency)
    center = CostCenter(**body.model_dump())
    session.add(center)
    session.commit()
    return CostCenterPublic.model_validate(center)


@router.get("/{code}", response_model=CostCenterPublic)
def get_cost_center(code: str, session: SessionDep, _admin: AdminDep):
    return CostCenterPublic.model_validate(get_center(session, code))


@router.patch("/{code}", response_model=CostCenterPublic)
def update_cost_center(code: str, body: CostCenterUpdate, session: SessionDep, _admin: AdminDep):
    center = get_center(session, code)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Invalid("must not be null", "name")
    if "parent_code" in changes:
        _check_parent(session, code, changes["parent_code"])
    _check_budget(
        changes.get("monthly_budget", center.monthly_budget),
        changes.get("budget_currency", center.budget_currency),
    )
    for key, value in changes.items():
        setattr(center, key, value)
    session.commit()
    return CostCenterPublic.model_validate(center)


@router.delete("/{code}", status_code=204)
def delete_cost_center(code: str, session: SessionDep, _admin: AdminDep):
    center = get_center(session, code)
    users = []
    if session.scalars(select(CostCenter.code).where(CostCenter.parent_code == code)).first():
        users.append("child cost centers")
    if (
        session.scalars(
            select(CostAllocationRule.id).where(CostAllocationRule.cost_center_code == code)
        ).first()
        or session.scalars(
            select(CostAllocationTarget.rule_id).where(
                CostAllocationTarget.cost_center_code == code
            )
        ).first()
    ):
        users.append("allocation rules")
    if session.scalars(
        select(TenantCostCenter.tenant_id).where(TenantCostCenter.cost_center_code == code)
    ).first():
        users.append("tenants")
    if users:
        raise Conflict(f"cost center {code!r} is used by {', '.join(users)}")
    session.delete(center)
    session.commit()
    return Response(status_code=204)


@tenants_router.get("", response_model=TenantCostCentersPublic)
def list_tenant_cost_centers(session: SessionDep, _admin: AdminDep):
    rows = session.scalars(select(TenantCostCenter).order_by(TenantCostCenter.tenant_id)).all()
    return TenantCostCentersPublic(
        data=[
            TenantCostCenterPublic(tenant_id=r.tenant_id, cost_center=r.cost_center_code)
            for r in rows
        ],
        count=len(rows),
    )


@tenants_router.put("/{tenant_id}", response_model=TenantCostCenterPublic)
def set_tenant_cost_center(
    tenant_id: str, body: TenantCostCenterIn, session: SessionDep, _admin: AdminDep
):
    get_center(session, body.cost_center, "cost_center")
    row = session.get(TenantCostCenter, tenant_id)
    if row is None:
        row = TenantCostCenter(tenant_id=tenant_id, cost_center_code=body.cost_center)
        session.add(row)
    else:
        row.cost_center_code = body.cost_center
    session.commit()
    return TenantCostCenterPublic(tenant_id=tenant_id, cost_center=body.cost_center)


@tenants_router.delete("/{tenant_id}", status_code=204)
def delete_tenant_cost_center(tenant_id: str, session: SessionDep, _admin: AdminDep):
    row = session.get(TenantCostCenter, tenant_id)
    if row is None:
        raise NotFound(f"tenant {tenant_id!r} has no cost center")
    session.delete(row)
    session.commit()
    return Response(status_code=204)
