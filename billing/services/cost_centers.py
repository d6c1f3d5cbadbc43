"""Cost centers (hierarchy, owner, monthly budget) and the cost center of each tenant.

Control-plane records written by the admin; the pipeline snapshots them before allocating
cloud cost. `unallocated` is reserved: it is the explicit center of cost no rule claims.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import CostCenterCreate, CostCenterUpdate
from billing.control_plane.models import (
    UNALLOCATED,
    CostAllocationRule,
    CostAllocationTarget,
    CostCenter,
    TenantCostCenter,
)
from billing.errors import Conflict, Invalid, NotFound
from billing.services.plans import check_amount, check_currency
from billing.services.rows import delete_row


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


def list_centers(session: Session) -> list[CostCenter]:
    return list(session.scalars(select(CostCenter).order_by(CostCenter.code)).all())


def create_center(session: Session, body: CostCenterCreate) -> CostCenter:
    if body.code == UNALLOCATED:
        raise Invalid(f"{UNALLOCATED!r} is reserved for cost no rule claims", "code")
    if session.get(CostCenter, body.code) is not None:
        raise Conflict(f"cost center {body.code!r} already exists")
    _check_parent(session, body.code, body.parent_code)
    _check_budget(body.monthly_budget, body.budget_currency)
    center = CostCenter(**body.model_dump())
    session.add(center)
    session.commit()
    return center


def update_center(session: Session, code: str, body: CostCenterUpdate) -> CostCenter:
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
    return center


def delete_center(session: Session, code: str) -> None:
    """Delete a cost center nothing uses (no child, rule or tenant)."""
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


def list_tenant_centers(session: Session) -> list[TenantCostCenter]:
    return list(
        session.scalars(select(TenantCostCenter).order_by(TenantCostCenter.tenant_id)).all()
    )


def set_tenant_center(session: Session, tenant_id: str, cost_center: str) -> TenantCostCenter:
    get_center(session, cost_center, "cost_center")
    row = session.get(TenantCostCenter, tenant_id)
    if row is None:
        row = TenantCostCenter(tenant_id=tenant_id, cost_center_code=cost_center)
        session.add(row)
    else:
        row.cost_center_code = cost_center
    session.commit()
    return row


def delete_tenant_center(session: Session, tenant_id: str) -> None:
    delete_row(session, TenantCostCenter, tenant_id, f"tenant {tenant_id!r} has no cost center")


def check_center_filter(session, code: str | None, field: str = "cost_center") -> str | None:
    """A cost center filter, checked against the control plane (422 if unknown);
    ``unallocated`` (what no rule claimed) and None pass."""
    if code is not None and code != UNALLOCATED:
        get_center(session, code, field)
    return code
