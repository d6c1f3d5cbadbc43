"""Real-time cost, computed on read (:func:`tenant_cost`) from the real-time totals kept by
``ingestion.realtime_consumer``, with the plan in force for the period (the last subscription
phase overlapping it; a meter is billed by the latest-started subscription charging it, as the
warehouse rates it) and the one pricing engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.models import (
    RealtimeUsage,
    Subscription,
)
from billing.rules.alerts import period_bounds, project_month_end
from billing.rules.pricing import calculate, round_money
from billing.services.plans import charge_price


@dataclass
class CostLine:
    kind: str  # base_fee | usage | minimum_commitment
    subscription_id: str
    plan_code: str
    plan_version: int
    meter: str | None
    quantity: Decimal | None
    projected_quantity: Decimal | None
    amount: Decimal
    projected_amount: Decimal


@dataclass
class TenantCost:
    tenant_id: str
    period_start: date
    period_end: date
    as_of: datetime
    currency: str | None
    month_to_date: Decimal
    projected_month_end: Decimal
    lines: list[CostLine]
    usage: dict[str, Decimal]


def _plan_in_force(sub: Subscription, start: datetime, end: datetime):
    overlapping = [
        p for p in sub.phases if p.starts_at < end and (p.ends_at is None or p.ends_at > start)
    ]
    if not overlapping:
        return None
    return max(overlapping, key=lambda p: (p.starts_at, p.id)).plan


def tenant_cost(session: Session, tenant_id: str, period: date, now: datetime) -> TenantCost:
    """Month to date and projected month end of a tenant's period, from the real-time totals.

    Month to date = base fees + every charge priced at the usage so far. Projected month end =
    base fees + every charge priced at the usage projected linearly (``billing.rules.alerts``),
    with minimum commitments trued up. Amounts are rounded to the currency once per line.
    """
    period_start, period_end = period_bounds(datetime(period.year, period.month, 1))
    start = datetime(period_start.year, period_start.month, 1)
    end = datetime(period_end.year, period_end.month, 1)
    usage_rows = session.scalars(
        select(RealtimeUsage)
        .where(RealtimeUsage.tenant_id == tenant_id)
        .where(RealtimeUsage.period_start == period_start)
    ).all()
    usage = {r.meter_key: (r.quantity, r.aggregation) for r in usage_rows}
    subs = session.scalars(
        select(Subscription)
        .where(Subscription.tenant_id == tenant_id)
        .where(Subscription.started_at < end)
        .where((Subscription.cancel_at.is_(None)) | (Subscription.cancel_at > start))
        .order_by(Subscription.started_at.desc(), Subscription.id)
    ).all()
    lines: list[CostLine] = []
    currency: str | None = None
    billed: set[str] = set()
    for sub in subs:
        plan = _plan_in_force(sub, start, end)
        if plan is None:
            continue
        if currency is None:
            currency = plan.currency
        if plan.currency != currency:
            continue  # one currency per tenant is reported (the latest subscription's)
        if plan.base_fee_amount:
            fee = round_money(plan.base_fee_amount, currency)
            lines.append(
                CostLine("base_fee", sub.id, plan.code, plan.version, None, None, None, fee, fee)
            )
        for charge in plan.charges:
            if charge.meter_key in billed:
                continue
            billed.add(charge.meter_key)
            quantity, aggregation = usage.get(charge.meter_key, (Decimal(0), "sum"))
            projected = project_month_end(quantity, aggregation, period_start, period_end, now)
            price = charge_price(charge)
            amount = calculate(price, quantity, currency).amount
            projected_amount = calculate(price, projected, currency).amount
            lines.append(
                CostLine(
                    "usage",
                    sub.id,
                    plan.code,
                    plan.version,
                    charge.meter_key,
                    quantity,
                    projected,
                    amount,
                    projected_amount,
                )
            )
            if charge.minimum_amount is not None:
                minimum = round_money(charge.minimum_amount, currency)
                if projected_amount < minimum:
                    lines.append(
                        CostLine(
                            "minimum_commitment",
                            sub.id,
                            plan.code,
                            plan.version,
                            charge.meter_key,
                            None,
                            None,
                            Decimal(0),
                            minimum - projected_amount,
                        )
                    )
    zero = Decimal(0)
    return TenantCost(
        tenant_id=tenant_id,
        period_start=period_start,
        period_end=period_end,
        as_of=now,
        currency=currency,
        month_to_date=sum((line.amount for line in lines), zero),
        projected_month_end=sum((line.projected_amount for line in lines), zero),
        lines=lines,
        usage={k: v[0] for k, v in usage.items()},
    )
