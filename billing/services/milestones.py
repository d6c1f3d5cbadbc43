"""Usage milestones (levels of a meter whose crossing is an alert of kind ``milestone``) and
the alert history with each notification's delivery."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billing.control_plane.commands import MilestoneCreate
from billing.control_plane.models import BillingAlert, NotificationDelivery, UsageMilestone
from billing.errors import Invalid
from billing.services.alerts import decimal_text
from billing.services.meters import check_known_meter
from billing.services.rows import delete_row, get_row


def list_milestones(
    session: Session, tenant_id: str | None, meter: str | None
) -> list[UsageMilestone]:
    """With ``tenant_id``, those that apply to the tenant: its own and those of every tenant."""
    query = select(UsageMilestone).order_by(UsageMilestone.id)
    if tenant_id is not None:
        query = query.where(
            or_(UsageMilestone.tenant_id == tenant_id, UsageMilestone.tenant_id.is_(None))
        )
    if meter is not None:
        query = query.where(UsageMilestone.meter_key == meter)
    return list(session.scalars(query).all())


def create_milestone(session: Session, body: MilestoneCreate, now: datetime) -> UsageMilestone:
    """Levels of a known meter, at most 9 decimal places, stored distinct and ascending."""
    check_known_meter(session, body.meter)
    for i, level in enumerate(body.levels):
        if level.normalize().as_tuple().exponent < -9:
            raise Invalid("has more than 9 decimal places", f"levels[{i}]")
    row = UsageMilestone(
        meter_key=body.meter,
        tenant_id=body.tenant_id,
        levels=sorted({decimal_text(v) for v in body.levels}, key=Decimal),
        created_at=now,
    )
    session.add(row)
    session.commit()
    return row


def get_milestone(session: Session, milestone_id: int) -> UsageMilestone:
    return get_row(session, UsageMilestone, milestone_id, f"milestone {milestone_id} not found")


def delete_milestone(session: Session, milestone_id: int) -> UsageMilestone:
    """Delete a milestone; the row keeps the values it had (to answer with)."""
    return delete_row(session, UsageMilestone, milestone_id, f"milestone {milestone_id} not found")


def alert_page(
    session: Session,
    tenant_id: str | None,
    kind: str | None,
    meter: str | None,
    period_start: date | None,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[BillingAlert, NotificationDelivery | None]]]:
    """Alert history, newest first, with each alert's delivery: (count of all, the page)."""
    conditions = []
    if tenant_id is not None:
        conditions.append(BillingAlert.tenant_id == tenant_id)
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
    return count or 0, [(a, d) for a, d in rows]
