"""Plans: what is sold, in which currency, with which charges. Writes need the admin key."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep
from api.schemas.plans import PlanPublic, PlansPublic, plan_public
from api.schemas.subscriptions import PlanMigrationPublic, plan_migration_public
from billing.control_plane.commands import PlanCreate, PlanDefinition, PlanMigrateIn, RowId
from billing.services import plans as logic
from billing.services import subscriptions

router = APIRouter(prefix="/plans", tags=["plans"])


@router.get("", response_model=PlansPublic)
def list_plans(session: SessionDep, _caller: CallerDep, include_history: bool = False):
    """Current plan versions (all versions with `include_history=true`)."""
    rows = logic.list_plans(session, include_history)
    return PlansPublic(data=[plan_public(p) for p in rows], count=len(rows))


@router.post("", response_model=PlanPublic, status_code=201)
def create_plan(body: PlanCreate, session: SessionDep, _admin: AdminDep):
    plan = logic.create_plan(session, body)
    session.commit()
    return plan_public(plan)


@router.get("/{code}", response_model=PlanPublic)
def get_plan(code: str, session: SessionDep, _caller: CallerDep):
    return plan_public(logic.current_plan(session, code))


@router.get("/{code}/versions/{version}", response_model=PlanPublic)
def get_plan_version(code: str, version: RowId, session: SessionDep, _caller: CallerDep):
    return plan_public(logic.plan_version(session, code, version))


@router.post("/{code}/versions/{version}/migrate", response_model=PlanMigrationPublic)
def migrate_plan(
    code: str,
    version: RowId,
    body: PlanMigrateIn,
    session: SessionDep,
    _admin: AdminDep,
    clock: ClockDep,
):
    """Move every subscription on an older version of the plan onto this one, as
    `POST /subscriptions/{id}/migrate` does for one; the answer lists each (migrated,
    scheduled, or skipped with the reason). Running it again is a no-op."""
    now = clock()
    plan, outcomes = subscriptions.migrate_plan(session, code, version, body, now)
    session.commit()
    return plan_migration_public(plan, outcomes)


@router.put("/{code}", response_model=PlanPublic)
def replace_plan(code: str, body: PlanDefinition, session: SessionDep, _admin: AdminDep):
    """Replace a plan's definition. A version some subscription has used never changes: the
    edit becomes version + 1 and new subscriptions get it; existing ones keep theirs."""
    plan = logic.replace_plan(session, code, body)
    session.commit()
    return plan_public(plan)


@router.delete("/{code}", response_model=PlanPublic)
def archive_plan(code: str, session: SessionDep, _admin: AdminDep):
    """Archive a plan: no new subscriptions; existing ones keep it."""
    plan = logic.archive_plan(session, code)
    session.commit()
    return plan_public(plan)
