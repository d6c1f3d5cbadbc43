"""Response schemas (``*Public``): subscriptions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import from_attrs
from billing.control_plane.models import Plan
from billing.services.subscriptions import Migration, ProrationLine, SubscriptionView
from billing.timeutil import UtcDateTime


class PhasePublic(BaseModel):
    plan_code: str
    plan_version: int
    starts_at: UtcDateTime
    ends_at: UtcDateTime | None
    reason: str


class SubscriptionEventPublic(BaseModel):
    kind: str
    occurred_at: UtcDateTime
    effective_at: UtcDateTime
    details: dict


class ProrationLinePublic(BaseModel):
    period_start: date
    kind: Literal["proration_credit", "proration_charge"]
    description: str
    amount: str
    currency: str


class RedemptionPublic(BaseModel):
    coupon_code: str
    redeemed_at: UtcDateTime
    first_period_start: date
    periods: int | None


class SubscriptionPublic(BaseModel):
    id: str
    tenant_id: str
    status: Literal["scheduled", "trialing", "active", "canceled"]
    plan_code: str
    plan_version: int
    currency: str
    started_at: UtcDateTime
    trial_ends_at: UtcDateTime | None
    cancel_at: UtcDateTime | None
    canceled_at: UtcDateTime | None
    current_period_start: date | None
    current_period_end: date | None
    pending_plan_code: str | None = Field(None, description="Plan that takes over at a later date.")
    pending_change_at: UtcDateTime | None = None
    phases: list[PhasePublic]
    coupons: list[RedemptionPublic]
    events: list[SubscriptionEventPublic]
    proration: list[ProrationLinePublic] = Field(
        default_factory=list,
        description="Proration lines caused by this request (plan changes, cancellations).",
    )
    dropped_overrides: list[str] = Field(
        default_factory=list,
        description="Price overrides this plan change or migration dropped: `base_fee` (a "
        "change to another plan) and the meter keys of charges the new plan does not have "
        "(or prices with another model).",
    )


class SubscriptionsPublic(BaseModel):
    data: list[SubscriptionPublic]
    count: int


class SubscriptionMigrationPublic(BaseModel):
    subscription_id: str
    tenant_id: str
    from_plan_version: int
    status: Literal["migrated", "scheduled", "skipped"] = Field(
        description="`migrated` (immediately), `scheduled` (at the period end) or `skipped` "
        "(nothing changed; `reason` says why)."
    )
    effective_at: UtcDateTime | None = None
    proration: list[ProrationLinePublic] = Field(default_factory=list)
    dropped_overrides: list[str] = Field(
        default_factory=list,
        description="Price overrides the new version does not keep: meter keys of charges it "
        "does not have or prices with another model.",
    )
    reason: str | None = None


class PlanMigrationPublic(BaseModel):
    plan_code: str
    plan_version: int
    data: list[SubscriptionMigrationPublic] = Field(
        description="One entry per subscription that was on an older version, in creation order."
    )
    count: int


def plan_migration_public(plan: Plan, outcomes: list[Migration]) -> PlanMigrationPublic:
    data = [
        SubscriptionMigrationPublic(
            subscription_id=o.subscription.id,
            tenant_id=o.subscription.tenant_id,
            from_plan_version=o.from_version,
            status=o.status,
            effective_at=o.change.effective_at if o.change else None,
            proration=[from_attrs(ProrationLinePublic, line) for line in o.change.proration]
            if o.change
            else [],
            dropped_overrides=list(o.change.dropped_overrides) if o.change else [],
            reason=o.reason,
        )
        for o in outcomes
    ]
    return PlanMigrationPublic(
        plan_code=plan.code, plan_version=plan.version, data=data, count=len(data)
    )


def subscription_public(
    view: SubscriptionView,
    proration: list[ProrationLine] | None = None,
    dropped_overrides: list[str] | None = None,
) -> SubscriptionPublic:
    sub, plan, pending, period = view.subscription, view.plan, view.pending, view.period
    return from_attrs(
        SubscriptionPublic,
        sub,
        status=view.status,
        plan_code=plan.code,
        plan_version=plan.version,
        currency=plan.currency,
        current_period_start=period[0],
        current_period_end=period[1],
        pending_plan_code=pending.plan.code if pending else None,
        pending_change_at=pending.starts_at if pending else None,
        phases=[
            from_attrs(PhasePublic, p, plan_code=p.plan.code, plan_version=p.plan.version)
            for p in sub.phases
        ],
        coupons=[
            from_attrs(RedemptionPublic, r, coupon_code=r.coupon.code) for r in view.redemptions
        ],
        events=[from_attrs(SubscriptionEventPublic, e) for e in sub.events],
        proration=[from_attrs(ProrationLinePublic, line) for line in proration or []],
        dropped_overrides=list(dropped_overrides or []),
    )
