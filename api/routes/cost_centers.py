"""Cost centers and the cost center of each tenant, over HTTP (admin key). What they are and
the rules they follow: ``billing.services.cost_centers``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminDep, SessionDep
from api.schemas.cost_centers import (
    CostCenterPublic,
    CostCentersPublic,
    TenantCostCenterPublic,
    TenantCostCentersPublic,
)
from billing.control_plane.commands import CostCenterCreate, CostCenterUpdate, TenantCostCenterIn
from billing.services import cost_centers as centers

router = APIRouter(prefix="/cost-centers", tags=["cloud costs"])
tenants_router = APIRouter(prefix="/tenant-cost-centers", tags=["cloud costs"])


@router.get("", response_model=CostCentersPublic)
def list_cost_centers(session: SessionDep, _admin: AdminDep):
    rows = centers.list_centers(session)
    return CostCentersPublic(
        data=[CostCenterPublic.model_validate(r) for r in rows], count=len(rows)
    )


@router.post("", response_model=CostCenterPublic, status_code=201)
def create_cost_center(body: CostCenterCreate, session: SessionDep, _admin: AdminDep):
    return CostCenterPublic.model_validate(centers.create_center(session, body))


@router.get("/{code}", response_model=CostCenterPublic)
def get_cost_center(code: str, session: SessionDep, _admin: AdminDep):
    return CostCenterPublic.model_validate(centers.get_center(session, code))


@router.patch("/{code}", response_model=CostCenterPublic)
def update_cost_center(code: str, body: CostCenterUpdate, session: SessionDep, _admin: AdminDep):
    return CostCenterPublic.model_validate(centers.update_center(session, code, body))


@router.delete("/{code}", status_code=204)
def delete_cost_center(code: str, session: SessionDep, _admin: AdminDep):
    centers.delete_center(session, code)
    return Response(status_code=204)


@tenants_router.get("", response_model=TenantCostCentersPublic)
def list_tenant_cost_centers(session: SessionDep, _admin: AdminDep):
    rows = centers.list_tenant_centers(session)
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
    centers.set_tenant_center(session, tenant_id, body.cost_center)
    return TenantCostCenterPublic(tenant_id=tenant_id, cost_center=body.cost_center)


@tenants_router.delete("/{tenant_id}", status_code=204)
def delete_tenant_cost_center(tenant_id: str, session: SessionDep, _admin: AdminDep):
    centers.delete_tenant_center(session, tenant_id)
    return Response(status_code=204)
