"""Cloud cost centers, their allocation rules and targets, and tenants' cost centers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, Integer, String

from billing.control_plane.models.base import MONEY, Base, ExactDecimal
from billing.rules.events import utc_now

UNALLOCATED = "unallocated"  # the explicit cost center of cost no rule claims (not stored)


class CostCenter(Base):
    """A cost center: a node of the hierarchy cloud spend is allocated to."""

    __tablename__ = "cost_centers"

    code: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("cost_centers.code"), nullable=True, index=True
    )
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    monthly_budget: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    budget_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class CostAllocationRule(Base):
    """Claims the cost lines it matches (every set `match_*` must hold), in priority order
    (lowest first): either for one cost center (`cost_center_code`) or as a shared pool split
    over centers (`split_method`)."""

    __tablename__ = "cost_allocation_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, unique=True)
    match_tag_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    match_tag_value: Mapped[str | None] = mapped_column(String(500), nullable=True)
    match_provider: Mapped[str | None] = mapped_column(String(200), nullable=True)
    match_billing_account_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    match_sub_account_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    match_service_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cost_center_code: Mapped[str | None] = mapped_column(
        ForeignKey("cost_centers.code"), nullable=True
    )
    split_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    usage_meter_key: Mapped[str | None] = mapped_column(String(63), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)

    targets: Mapped[list[CostAllocationTarget]] = relationship(
        cascade="all, delete-orphan", order_by="CostAllocationTarget.cost_center_code"
    )


class CostAllocationTarget(Base):
    """A cost center a shared pool is split over; `percentage` for the `fixed` method."""

    __tablename__ = "cost_allocation_targets"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("cost_allocation_rules.id", ondelete="CASCADE"), primary_key=True
    )
    cost_center_code: Mapped[str] = mapped_column(ForeignKey("cost_centers.code"), primary_key=True)
    percentage: Mapped[Decimal | None] = mapped_column(ExactDecimal(9, 6), nullable=True)


class TenantCostCenter(Base):
    """The cost center a tenant's share of usage-driven pools goes to."""

    __tablename__ = "tenant_cost_centers"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    cost_center_code: Mapped[str] = mapped_column(ForeignKey("cost_centers.code"))
