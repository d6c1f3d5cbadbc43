"""Quotas and budgets: limits per tenant and meter (or per month of spend), the quota
decision of the hot-path check, and quota status with this period's real-time usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.control_plane.commands import BudgetIn, QuotaCreate, QuotaUpdate
from billing.control_plane.models import RealtimeUsage, ResourceQuota, TenantBudget
from billing.errors import Conflict, Invalid
from billing.rules.alerts import quota_decision, remaining
from billing.rules.pricing import QUANTITY_PLACES
from billing.services.alerts import decimal_text
from billing.services.meters import check_known_meter
from billing.services.plans import check_amount, check_currency
from billing.services.rows import delete_row, get_row

MAX_QUANTITY = Decimal(10) ** 29


def check_quantity(value: Decimal, field: str) -> Decimal:
    if not value.is_finite() or value < 0 or value >= MAX_QUANTITY:
        raise Invalid("must be a non-negative decimal below 10^29", field)
    if value.normalize().as_tuple().exponent < -QUANTITY_PLACES:
        raise Invalid(f"has more than {QUANTITY_PLACES} decimal places", field)
    return value


def thresholds(values: list[Decimal]) -> list[str]:
    """Alert thresholds (percent) as stored: distinct, ascending, as plain text."""
    return sorted({decimal_text(v) for v in values}, key=Decimal)


# ----------------------------------------------------------------------------- quotas
def list_quotas(session: Session, tenant_id: str | None) -> list[ResourceQuota]:
    query = select(ResourceQuota).order_by(ResourceQuota.tenant_id, ResourceQuota.meter_key)
    if tenant_id is not None:
        query = query.where(ResourceQuota.tenant_id == tenant_id)
    return list(session.scalars(query).all())


def create_quota(session: Session, body: QuotaCreate, now: datetime) -> ResourceQuota:
    """A quota on a known meter, one per tenant and meter."""
    check_known_meter(session, body.meter)
    check_quantity(body.limit, "limit")
    existing = session.scalars(
        select(ResourceQuota)
        .where(ResourceQuota.tenant_id == body.tenant_id)
        .where(ResourceQuota.meter_key == body.meter)
    ).first()
    if existing is not None:
        raise Conflict(
            f"tenant {body.tenant_id!r} already has a quota on {body.meter!r} (id {existing.id})"
        )
    row = ResourceQuota(
        tenant_id=body.tenant_id,
        meter_key=body.meter,
        period=body.period,
        limit=body.limit,
        enforcement=body.enforcement,
        alert_thresholds=thresholds(body.alert_thresholds),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"tenant {body.tenant_id!r} already has a quota on {body.meter!r}") from None
    return row


def get_quota(session: Session, quota_id: int) -> ResourceQuota:
    return get_row(session, ResourceQuota, quota_id, f"quota {quota_id} not found")


def update_quota(
    session: Session, quota_id: int, body: QuotaUpdate, now: datetime
) -> ResourceQuota:
    row = get_quota(session, quota_id)
    if body.limit is not None:
        row.limit = check_quantity(body.limit, "limit")
    if body.enforcement is not None:
        row.enforcement = body.enforcement
    if body.alert_thresholds is not None:
        row.alert_thresholds = thresholds(body.alert_thresholds)
    row.updated_at = now
    session.commit()
    return row


def delete_quota(session: Session, quota_id: int) -> ResourceQuota:
    """Delete a quota; the row keeps the values it had (to answer with)."""
    row = get_quota(session, quota_id)
    session.delete(row)
    session.commit()
    return row


@dataclass(frozen=True)
class Decision:
    """The answer of a quota check: allowed, a soft quota's warning, what is left."""

    allowed: bool
    warning: bool
    remaining: Decimal | None
    limit: Decimal | None
    enforcement: str | None


def decide(quota: tuple[Decimal, str] | None, used: Decimal, quantity: Decimal) -> Decision:
    """May ``quantity`` more be used, given the quota (limit, enforcement) and what is used?
    Without a quota: yes, no warning, no limit."""
    if quota is None:
        return Decision(True, False, None, None, None)
    limit, enforcement = quota
    allowed, warning = quota_decision(enforcement, limit, used, quantity)
    return Decision(allowed, warning, remaining(limit, used), limit, enforcement)


@dataclass(frozen=True)
class QuotaUse:
    quota: ResourceQuota
    used: Decimal
    remaining: Decimal
    percent_used: Decimal
    thresholds_reached: list[Decimal]


def quota_status(session: Session, tenant_id: str, period: date) -> list[QuotaUse]:
    """Every quota of the tenant with the period's real-time usage, by meter."""
    quotas = session.scalars(
        select(ResourceQuota)
        .where(ResourceQuota.tenant_id == tenant_id)
        .order_by(ResourceQuota.meter_key)
    ).all()
    out = []
    for q in quotas:
        usage = session.get(RealtimeUsage, (tenant_id, q.meter_key, period))
        used = usage.quantity if usage is not None else Decimal(0)
        percent = (used * 100 / q.limit).quantize(Decimal("0.01")) if q.limit else Decimal(0)
        reached = [Decimal(t) for t in q.alert_thresholds if used * 100 >= q.limit * Decimal(t)]
        out.append(QuotaUse(q, used, remaining(q.limit, used), percent, reached))
    return out


# ----------------------------------------------------------------------------- budgets
def list_budgets(session: Session, tenant_id: str | None) -> list[TenantBudget]:
    query = select(TenantBudget).order_by(TenantBudget.tenant_id)
    if tenant_id is not None:
        query = query.where(TenantBudget.tenant_id == tenant_id)
    return list(session.scalars(query).all())


def put_budget(session: Session, tenant_id: str, body: BudgetIn, now: datetime) -> TenantBudget:
    """Set a tenant's monthly budget (replaces the previous one)."""
    currency = check_currency(body.currency)
    check_amount(body.amount, "amount")
    row = session.get(TenantBudget, tenant_id)
    if row is None:
        row = TenantBudget(tenant_id=tenant_id, created_at=now)
        session.add(row)
    row.currency = currency
    row.amount = body.amount
    row.alert_thresholds = thresholds(body.alert_thresholds)
    row.updated_at = now
    session.commit()
    return row


def delete_budget(session: Session, tenant_id: str) -> TenantBudget:
    """Delete a tenant's budget; the row keeps the values it had (to answer with)."""
    return delete_row(session, TenantBudget, tenant_id, f"tenant {tenant_id!r} has no budget")
