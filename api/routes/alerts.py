"""Milestones, alert history, real-time cost and reconciliation reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, scoped_tenant
from api.schemas.alerts import (
    AlertPublic,
    AlertsPublic,
    DeliveryPublic,
    MilestonePublic,
    MilestonesPublic,
)
from api.schemas.common import from_attrs
from api.schemas.costs import CostLinePublic, DriftPublic, RealtimeCostMetric, ReconciliationPublic
from billing.control_plane.commands import MAX_DB_INTEGER, MilestoneCreate, RowId
from billing.control_plane.models import (
    BillingAlert,
    NotificationDelivery,
    UsageMilestone,
)
from billing.errors import Invalid
from billing.rules.alerts import period_bounds
from billing.services import milestones as logic
from billing.services import reconciliation
from billing.timeutil import IsoDate
from ingestion.realtime import tenant_cost

router = APIRouter(tags=["alerts"])


def _milestone_public(row: UsageMilestone) -> MilestonePublic:
    return from_attrs(
        MilestonePublic, row, meter=row.meter_key, levels=[Decimal(v) for v in row.levels]
    )


@router.get("/milestones", response_model=MilestonesPublic)
def list_milestones(
    session: SessionDep, caller: CallerDep, tenant_id: str | None = None, meter: str | None = None
):
    """Milestones; with ``tenant_id`` (a tenant key: always its own) those that apply to the
    tenant: its own and those of every tenant."""
    rows = logic.list_milestones(session, scoped_tenant(caller, tenant_id), meter)
    return MilestonesPublic(data=[_milestone_public(r) for r in rows], count=len(rows))


@router.post("/milestones", response_model=MilestonePublic, status_code=201)
def create_milestone(body: MilestoneCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    row = logic.create_milestone(session, body, clock())
    return _milestone_public(row)


@router.delete("/milestones/{milestone_id}", response_model=MilestonePublic)
def delete_milestone(milestone_id: RowId, session: SessionDep, _admin: AdminDep):
    return _milestone_public(logic.delete_milestone(session, milestone_id))


def _alert_public(alert: BillingAlert, delivery: NotificationDelivery | None) -> AlertPublic:
    return from_attrs(
        AlertPublic,
        alert,
        meter=alert.meter_key or None,
        details=alert.details or {},
        delivery=(
            from_attrs(
                DeliveryPublic,
                delivery,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            )
            if delivery is not None
            else None
        ),
    )


@router.get("/alerts", response_model=AlertsPublic)
def list_alerts(
    session: SessionDep,
    caller: CallerDep,
    tenant_id: str | None = None,
    kind: Annotated[str | None, Query(pattern="^(quota|budget|milestone)$")] = None,
    meter: str | None = None,
    period_start: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    """Alert history, newest first, with each notification's delivery state. Milestone
    crossings are the alerts of kind ``milestone``."""
    count, rows = logic.alert_page(
        session, scoped_tenant(caller, tenant_id), kind, meter, period_start, limit, offset
    )
    return AlertsPublic(
        data=[_alert_public(a, d) for a, d in rows], count=count, limit=limit, offset=offset
    )


@router.get("/realtime-cost/{tenant_id}", response_model=RealtimeCostMetric)
def realtime_cost(
    tenant_id: str,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    period_start: IsoDate | None = None,
):
    """Month to date and projected month end from the real-time consumer's totals, priced with
    the plan in force."""
    scoped_tenant(caller, tenant_id)
    now = clock()
    period = period_bounds(now)[0] if period_start is None else period_start
    if period.day != 1:
        raise Invalid("must be the first day of a month", "period_start")
    cost = tenant_cost(session, tenant_id, period, now)
    return from_attrs(
        RealtimeCostMetric,
        cost,
        tenant_id=tenant_id,
        lines=[CostLinePublic(**line.__dict__) for line in cost.lines],
    )


@router.get("/reconciliation", response_model=ReconciliationPublic)
def latest_reconciliation(session: SessionDep, _admin: AdminDep):
    """The latest comparison of real-time totals with the warehouse, with every drift."""
    report = reconciliation.latest_report(session)
    if report is None:
        return ReconciliationPublic(
            run_id=None, run_at=None, snapshot=None, compared=0, drifted=0, drifts=[]
        )
    run, drifts = report
    return from_attrs(
        ReconciliationPublic,
        run,
        run_id=run.id,
        drifts=[from_attrs(DriftPublic, d, meter=d.meter_key) for d in drifts],
    )
