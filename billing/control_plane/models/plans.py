"""Plans, their charges and the tiers of a charge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, Integer, String

from billing.control_plane.models.base import MONEY, QUANTITY, Base
from billing.rules.events import utc_now


class Plan(Base):
    """One version of a plan. Versions are immutable once a subscription uses them: an edit
    then creates version + 1 and the old one is marked superseded."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_plans_code_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10), default="month")
    base_fee_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    base_fee_timing: Mapped[str] = mapped_column(String(12), default="in_advance")
    base_fee_proration: Mapped[str] = mapped_column(String(6), default="day")
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    charges: Mapped[list[PlanCharge]] = relationship(
        back_populates="plan", order_by="PlanCharge.position", cascade="all, delete-orphan"
    )


class PlanCharge(Base):
    """A usage charge of a plan: one meter, one price model, optional free units and a minimum
    commitment per period."""

    __tablename__ = "plan_charges"
    __table_args__ = (UniqueConstraint("plan_id", "meter_key", name="uq_plan_charges_meter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    meter_key: Mapped[str] = mapped_column(ForeignKey("meters.key"))
    price_model: Mapped[str] = mapped_column(String(20))
    unit_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    package_size: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    flat_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    free_units: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    minimum_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)

    plan: Mapped[Plan] = relationship(back_populates="charges")
    tiers: Mapped[list[PlanChargeTier]] = relationship(
        back_populates="charge",
        order_by="PlanChargeTier.tier_index",
        cascade="all, delete-orphan",
    )


class PlanChargeTier(Base):
    __tablename__ = "plan_charge_tiers"

    charge_id: Mapped[int] = mapped_column(ForeignKey("plan_charges.id"), primary_key=True)
    tier_index: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    up_to: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)  # null: no limit
    unit_amount: Mapped[Decimal] = mapped_column(MONEY)
    flat_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))

    charge: Mapped[PlanCharge] = relationship(back_populates="tiers")
