"""Milestones, alert history, real-time cost and reconciliation reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, scoped_tenant
from api.schemas.alerts import (
    AlertPublic,
    AlertsPublic,
    DeliveryPublic,
    MilestonePublic,
    MilestonesPublic,
)
from api.schemas.costs import CostLinePublic, DriftPublic, RealtimeCostMetric, ReconciliationPublic
from billing.control_plane.commands import MAX_DB_INTEGER, MilestoneCreate, RowId
from billing.control_plane.models import (
    BillingAlert,
    Meter,
    NotificationDelivery,
    ReconciliationDrift,
    ReconciliationRun,
    UsageMilestone,
)
from billing.errors import Invalid, NotFound
from billing.rules.alerts import period_bounds
from billing.services.alerts import decimal_text
from billing.timeutil import IsoDate
from ingestion.realtime import tenant_cost

router = APIRouter(tags=["alerts"])


def _milestone_public(row: UsageMilestone) -> MilestonePublic:
    return MilestonePublic(
        id=row.id,
        meter=row.meter_key,
        tenant_id=row.tenant_id,
        levels=[Decimal(v) for v in row.levels],
        created_at=row.created_at,
    )


@router.get("/milestones", response_model=MilestonesPublic)
def list_milestones(
    session: SessionDep, caller: CallerDep, tenant_id: str | None = None, meter: str | None = None
):
    """Milestones; with ``tenant_id`` (a tenant key: always its own) those that apply to the
    tenant: its own and those of every tenant."""
    tenant = scoped_tenant(caller, tenant_id)
    query = select(UsageMilestone).order_by(UsageMilestone.id)
    if tenant is not None:
        query = query.where(
            or_(UsageMilestone.tenant_id == tenant, UsageMilestone.tenant_id.is_(None))
        )
    if meter is not None:
        query = query.where(UsageMilestone.meter_key == meter)
    rows = session.scalars(query).all()
    return MilestonesPublic(data=[_milestone_public(r) for r in rows], count=len(rows))


@router.post("/milestones", response_model=MilestonePublic, status_code=201)
def create_milestone(body: MilestoneCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    if session.get(Meter, body.meter) is None:
        raise Invalid(f"unknown meter {body.meter!r}", "meter")
    for i, level in enumerate(body.levels):
        if level.normalize().as_tuple().exponent < -9:
            raise Invalid("has more than 9 decimal places", f"levels[{i}]")
    row = UsageMilestone(
        meter_key=body.meter,
        tenant_id=body.tenant_id,
        levels=sorted({decimal_text(v) for v in body.levels}, key=Decimal),
        created_at=clock(),
    )
    session.add(row)
    session.commit()
    return _milestone_public(row)


@router.delete("/milestones/{milestone_id}", response_model=MilestonePublic)
def delete_milestone(milestone_id: RowId, session: SessionDep, _admin: AdminDep):
    row = session.get(UsageMilestone, milestone_id)
    if row is None:
        raise NotFound(f"milestone {milestone_id} not found")
    public = _milestone_public(row)
    session.delete(row)
    session.commit()
    return public


def _alert_public(alert: BillingAlert, delivery: NotificationDelivery | None) -> AlertPublic:
    return AlertPublic(
        id=alert.id,
        kind=alert.kind,
        scope=alert.scope,
        tenant_id=alert.tenant_id,
        meter=alert.meter_key or None,
        period_start=alert.period_start,
        threshold=alert.threshold,
        value=alert.value,
        limit=alert.limit,
        source=alert.source,
        fired_at=alert.fired_at,
        details=alert.details or {},
        delivery=(
            DeliveryPublic(
                status=delivery.status,
                attempts=delivery.attempts,
                published_at=delivery.published_at,
                delivered_at=delivery.delivered_at,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
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
    tenant = scoped_tenant(caller, tenant_id)
    conditions = []
    if tenant is not None:
        conditions.append(BillingAlert.tenant_id == tenant)
    if kind is not None:
        conditions.append(BillingAlert.kind == kind)
    if meter is not None:
        conditions.append(BillingAlert.meter_key == meter)
    if period_start is not None:
        conditions.append(BillingAlert.period_start == period_start)
    count = session.scalar(select(func.count()).select_from(BillingAlert).where(*conditions))
    rows = session.execute(
        select(BillingAlert, NotificationDelivery)
        .outerjoin(NotificationDelivery, NotificationDelivery.alert_id == BillingAlert.id)
        .where(*conditions)
        .order_by(BillingAlert.fired_at.desc(), BillingAlert.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return AlertsPublic(
        data=[_alert_public(a, d) for a, d in rows], count=count or 0, limit=limit, offset=offset
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
    return RealtimeCostMetric(
        tenant_id=tenant_id,
        period_start=cost.period_start,
        period_end=cost.period_end,
        as_of=cost.as_of,
        currency=cost.currency,
        month_to_date=cost.month_to_date,
        projected_month_end=cost.projected_month_end,
        usage=cost.usage,
        lines=[CostLinePublic(**line.__dict__) for line in cost.lines],
    )


@router.get("/reconciliation", response_model=ReconciliationPublic)
def latest_reconciliation(session: SessionDep, _admin: AdminDep):
    """The latest comparison of real-time totals with the warehouse, with every drift."""
    run = session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id.desc())).first()
    if run is None:
        return ReconciliationPublic(
            run_id=None, run_at=None, snapshot=None, compared=0, drifted=0, drifts=[]
        )
    drifts = session.scalars(
        select(ReconciliationDrift)
        .where(ReconciliationDrift.run_id == run.id)
        .order_by(
            ReconciliationDrift.tenant_id,
            ReconciliationDrift.meter_key,
            ReconciliationDrift.period_start,
        )
    ).all()
    return ReconciliationPublic(
        run_id=run.id,
        run_at=run.run_at,
        snapshot=run.snapshot,
        compared=run.compared,
        drifted=run.drifted,
        drifts=[
            DriftPublic(
                tenant_id=d.tenant_id,
                meter=d.meter_key,
                period_start=d.period_start,
                realtime_quantity=d.realtime_quantity,
                warehouse_quantity=d.warehouse_quantity,
                difference=d.difference,
            )
            for d in drifts
        ],
    )
