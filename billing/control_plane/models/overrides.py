"""Per-subscription price overrides, versioned: a version is the whole set of overrides in
force from ``effective_from`` until the next version of the same subscription."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import Boolean, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, QUANTITY, Base
from billing.control_plane.models.plans import Plan
from billing.rules.events import utc_now


class SubscriptionOverrideVersion(Base):
    """One version of a subscription's overrides, made for the plan in force from
    ``effective_from``. A version replaced before it took effect is marked superseded (kept as
    history, ignored by rating)."""

    __tablename__ = "subscription_override_versions"
    __table_args__ = (
        UniqueConstraint("subscription_id", "version", name="uq_subscription_override_versions"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    effective_from: Mapped[datetime] = mapped_column(DateTime)
    base_fee_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    reason: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    plan: Mapped[Plan] = relationship()
    charges: Mapped[list[SubscriptionChargeOverride]] = relationship(
        back_populates="override_version",
        order_by="SubscriptionChargeOverride.id",
        cascade="all, delete-orphan",
    )


class SubscriptionChargeOverride(Base):
    """A usage charge of the plan priced differently for one subscription: the fields set here
    replace the plan charge's; the others (null) keep the plan's. Tiers, when given, replace
    all of the plan charge's tiers."""

    __tablename__ = "subscription_charge_overrides"
    __table_args__ = (
        UniqueConstraint("version_id", "meter_key", name="uq_subscription_charge_overrides"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("subscription_override_versions.id"), index=True
    )
    charge_id: Mapped[int] = mapped_column(ForeignKey("plan_charges.id"))
    meter_key: Mapped[str] = mapped_column(String(63))
    unit_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    package_size: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    flat_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    free_units: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    minimum_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    has_tiers: Mapped[bool] = mapped_column(Boolean, default=False)

    override_version: Mapped[SubscriptionOverrideVersion] = relationship(back_populates="charges")
    tiers: Mapped[list[SubscriptionChargeOverrideTier]] = relationship(
        order_by="SubscriptionChargeOverrideTier.tier_index", cascade="all, delete-orphan"
    )


class SubscriptionChargeOverrideTier(Base):
    __tablename__ = "subscription_charge_override_tiers"

    override_id: Mapped[int] = mapped_column(
        ForeignKey("subscription_charge_overrides.id"), primary_key=True
    )
    tier_index: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    up_to: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)  # null: no limit
    unit_amount: Mapped[Decimal] = mapped_column(MONEY)
    flat_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
