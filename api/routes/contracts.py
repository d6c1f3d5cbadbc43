"""Contracts: a tenant's term with a postpaid commit and price ramps. Tenant keys read their
own; creating one needs the admin key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, check_visible, scoped_tenant
from api.schemas.contracts import (
    ContractPublic,
    ContractsPublic,
    contract_public,
    contracts_public,
)
from billing.control_plane.commands import ContractCreate
from billing.services import contracts as logic

router = APIRouter(prefix="/contracts", tags=["contracts"])


@router.get("", response_model=ContractsPublic)
def list_contracts(session: SessionDep, caller: CallerDep, tenant_id: str | None = None):
    return contracts_public(logic.list_contracts(session, scoped_tenant(caller, tenant_id)))


@router.post("", response_model=ContractPublic, status_code=201)
def create_contract(body: ContractCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    """Bind a tenant's subscription to a term of whole billing periods, with an optional
    postpaid commit (trued up on the invoice of the term's last period) and price ramps (each
    a version of the subscription's overrides from its start)."""
    contract = logic.create_contract(session, body, clock())
    session.commit()
    return contract_public(contract)


@router.get("/{contract_id}", response_model=ContractPublic)
def read_contract(contract_id: str, session: SessionDep, caller: CallerDep):
    contract = logic.get_contract(session, contract_id)
    check_visible(caller, contract.tenant_id, f"contract {contract_id!r} not found")
    return contract_public(contract)
