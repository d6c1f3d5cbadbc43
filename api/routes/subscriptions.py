"""Subscriptions: who is on which plan since when, their trials, changes and cancellations.
Tenant keys read their own; changes need the admin key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep, check_visible, scoped_tenant
from api.schemas.overrides import (
    OverrideVersionPublic,
    OverrideVersionsPublic,
    override_version_public,
    override_versions_public,
)
from api.schemas.subscriptions import SubscriptionPublic, SubscriptionsPublic, subscription_public
from billing.control_plane.commands import (
    MAX_DB_INTEGER,
    CancelIn,
    CouponApply,
    MigrateIn,
    OverridesIn,
    PlanChangeIn,
    SubscriptionCreate,
)
from billing.control_plane.models import Subscription
from billing.services import overrides
from billing.services import subscriptions as logic

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


def _public(
    session, sub: Subscription, now: datetime, proration=None, dropped_overrides=None
) -> SubscriptionPublic:
    return subscription_public(
        logic.subscription_view(session, sub, now), proration, dropped_overrides
    )


def _changed(session, caller, subscription_id: str, clock, change, body) -> SubscriptionPublic:
    """Apply ``change(session, sub, body, now)`` to the locked subscription, commit, and answer
    with the subscription and the proration preview the change returned."""
    now = clock()
    sub = _visible(session, caller, subscription_id, lock=True)
    preview = change(session, sub, body, now)
    session.commit()
    return _public(session, sub, now, preview)


def _visible(session, caller, subscription_id: str, lock: bool = False) -> Subscription:
    sub = logic.get_subscription(session, subscription_id, lock=lock)
    check_visible(caller, sub.tenant_id, f"subscription {subscription_id!r} not found")
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
    now = clock()
    rows = logic.list_subscriptions(session, scoped_tenant(caller, tenant_id), status, now)
    page = rows[offset : offset + limit]
    return SubscriptionsPublic(data=[_public(session, s, now) for s in page], count=len(rows))


@router.post("", response_model=SubscriptionPublic, status_code=201)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep
):
    now = clock()
    sub = logic.create_subscription(session, body, now)
    session.commit()
    return _public(session, sub, now)


@router.get("/{subscription_id}", response_model=SubscriptionPublic)
def get_subscription(subscription_id: str, session: SessionDep, caller: CallerDep, clock: ClockDep):
    return _public(session, _visible(session, caller, subscription_id), clock())


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
    return _changed(session, caller, subscription_id, clock, logic.cancel_subscription, body)


@router.post("/{subscription_id}/change-plan", response_model=SubscriptionPublic)
def change_plan(
    subscription_id: str,
    body: PlanChangeIn,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    """Move to another plan: upgrades take effect immediately with proration, downgrades at
    the end of the period, unless `timing` says otherwise. Price overrides of charges the new
    plan still has are kept; `dropped_overrides` lists the others."""
    return _move(session, caller, subscription_id, clock(), logic.change_plan, body)


@router.post("/{subscription_id}/migrate", response_model=SubscriptionPublic)
def migrate_subscription(
    subscription_id: str,
    body: MigrateIn,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    """Move onto another version of the plan in force (`version`, default the latest), like a
    plan change: immediately with proration when the new base fee is not lower, else at the
    period end, unless `timing` says otherwise. Price overrides are kept where the new version
    still has the charge and its price model (the base-fee override always);
    `dropped_overrides` lists the others."""
    return _move(session, caller, subscription_id, clock(), logic.migrate_subscription, body)


def _move(session, caller, subscription_id: str, now, change, body) -> SubscriptionPublic:
    """A plan change or migration (``change``) of a visible subscription, committed; the
    subscription with the proration preview and the dropped overrides."""
    sub = _visible(session, caller, subscription_id, lock=True)
    moved = change(session, sub, body, now)
    session.commit()
    return _public(session, sub, now, moved.proration, moved.dropped_overrides)


@router.get("/{subscription_id}/overrides", response_model=OverrideVersionsPublic)
def list_overrides(subscription_id: str, session: SessionDep, caller: CallerDep, clock: ClockDep):
    """Every version of the subscription's price overrides, oldest first, and the one in force
    now."""
    sub = _visible(session, caller, subscription_id)
    return override_versions_public(
        overrides.versions(session, sub), overrides.version_at(session, sub, clock())
    )


@router.put("/{subscription_id}/overrides", response_model=OverrideVersionPublic)
def replace_overrides(
    subscription_id: str,
    body: OverridesIn,
    session: SessionDep,
    caller: AdminDep,
    clock: ClockDep,
):
    """Replace the subscription's price overrides from `effective_from` (a billing period
    start, default the current one) on, as a new version. Each charge override sets only the
    fields of the plan charge's price model it changes; the others keep the plan's value."""
    now = clock()
    sub = _visible(session, caller, subscription_id, lock=True)
    version = overrides.replace_overrides(session, sub, body, now)
    session.commit()
    return override_version_public(version)


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
    return _public(session, sub, now)
