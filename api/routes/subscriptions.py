"""Subscriptions: who is on which plan since when, their trials, changes and cancellations.
Tenant keys read their own; changes need the admin key."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, scoped_tenant
from billing.control_plane.models import Subscription
from billing.errors import NotFound
from billing.schemas import (
    MAX_DB_INTEGER,
    CancelIn,
    CouponApply,
    PlanChangeIn,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionsPublic,
)
from billing.services import subscriptions as logic

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


def _visible(session, caller, subscription_id: str, lock: bool = False) -> Subscription:
    sub = logic.get_subscription(session, subscription_id, lock=lock)
    if not caller.can_see(sub.tenant_id):
        raise NotFound(f"subscription {subscription_id!r} not found")
    return sub


@router.get("", response_model=SubscriptionsPublic)
def list_subscriptions(
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    tenant_id: str | None = None,
    status: Literal["scheduled", "trialing", "active", "canceled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
):
    tenant = scoped_tenant(caller, tenant_id)
    query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
    if tenant is not None:
        query = query.where(Subscription.tenant_id == tenant)
    now = clock()
    rows = [
        s
        for s in session.scalars(query).all()
        if status is None or logic.status_at(s, now) == status
    ]
    page = rows[offset : offset + limit]
    return SubscriptionsPublic(
        data=[logic.subscription_public(session, s, now) for s in page], count=len(rows)
    )


@router.post("", response_model=SubscriptionPublic, status_code=201)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    now = clock()
    sub = logic.create_subscription(session, body, now)
    session.commit()
    return logic.subscription_public(session, sub, now)


@router.get("/{subscription_id}", response_model=SubscriptionPublic)
def get_subscription(subscription_id: str, session: SessionDep, caller: CallerDep, clock: ClockDep):
    return logic.subscription_public(session, _visible(session, caller, subscription_id), clock())


@router.post("/{subscription_id}/cancel", response_model=SubscriptionPublic)
def cancel_subscription(
    subscription_id: str,
    body: CancelIn,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    """Cancel at the end of the current period (default) or immediately (`at_period_end:
    false`, optionally `at` a time in the current period), crediting the unused base fee."""
    now = clock()
    sub = _visible(session, caller, subscription_id, lock=True)
    preview = logic.cancel_subscription(session, sub, body, now)
    session.commit()
    return logic.subscription_public(session, sub, now, preview)


@router.post("/{subscription_id}/change-plan", response_model=SubscriptionPublic)
def change_plan(
    subscription_id: str,
    body: PlanChangeIn,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    """Move to another plan: upgrades take effect immediately with proration, downgrades at
    the end of the period, unless `timing` says otherwise."""
    now = clock()
    sub = _visible(session, caller, subscription_id, lock=True)
    preview = logic.change_plan(session, sub, body, now)
    session.commit()
    return logic.subscription_public(session, sub, now, preview)


@router.post("/{subscription_id}/coupons", response_model=SubscriptionPublic)
def apply_coupon(
    subscription_id: str,
    body: CouponApply,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    now = clock()
    sub = _visible(session, caller, subscription_id, lock=True)
    logic.redeem_coupon(session, sub, body.code, now)
    session.commit()
    return logic.subscription_public(session, sub, now)
