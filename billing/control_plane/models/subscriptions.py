"""Subscriptions (phases, events) and coupons (and their redemptions)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import JSON, Date, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base, ExactDecimal
from billing.control_plane.models.plans import Plan
from billing.rules.events import utc_now


class Subscription(Base):
    """A tenant's subscription. Its status is derived from its dates
    (see billing.services.subscriptions)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))  # the plan in force now
    started_at: Mapped[datetime] = mapped_column(DateTime)
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    cancel_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)

    plan: Mapped[Plan] = relationship()
    phases: Mapped[list[SubscriptionPhase]] = relationship(
        back_populates="subscription",
        order_by="SubscriptionPhase.starts_at",
        cascade="all, delete-orphan",
    )
    events: Mapped[list[SubscriptionEvent]] = relationship(
        order_by="SubscriptionEvent.id", cascade="all, delete-orphan"
    )


class SubscriptionPhase(Base):
    """Effective-dated history of the plan in force: [starts_at, ends_at)."""

    __tablename__ = "subscription_phases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(30))

    subscription: Mapped[Subscription] = relationship(back_populates="phases")
    plan: Mapped[Plan] = relationship()


class SubscriptionEvent(Base):
    """Everything that happened to a subscription, in order."""

    __tablename__ = "subscription_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    effective_at: Mapped[datetime] = mapped_column(DateTime)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    percent_off: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 4), nullable=True)
    amount_off: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    duration: Mapped[str] = mapped_column(String(10))
    duration_in_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    times_redeemed: Mapped[int] = mapped_column(Integer, default=0)
    redeem_by: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    plan_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class CouponRedemption(Base):
    """A coupon applied to a subscription, from a billing period, for its duration."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        UniqueConstraint("coupon_id", "subscription_id", name="uq_coupon_redemptions_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    redeemed_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    first_period_start: Mapped[date] = mapped_column(Date)
    periods: Mapped[int | None] = mapped_column(Integer, nullable=True)  # null: forever

    coupon: Mapped[Coupon] = relationship()
