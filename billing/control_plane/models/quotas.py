"""Quotas, budgets, usage milestones, billing alerts and their notification deliveries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON, Date, DateTime, Integer, String

from billing.control_plane.models.base import MONEY, QUANTITY, Base
from billing.rules.events import utc_now


class ResourceQuota(Base):
    """A tenant's limit on a meter per billing period: ``hard`` blocks, ``soft`` warns; alerts
    fire at each percentage of ``alert_thresholds``."""

    __tablename__ = "resource_quotas"
    __table_args__ = (UniqueConstraint("tenant_id", "meter_key", name="uq_resource_quotas"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    meter_key: Mapped[str] = mapped_column(ForeignKey("meters.key"))
    period: Mapped[str] = mapped_column(String(10), default="month")
    limit: Mapped[Decimal] = mapped_column(QUANTITY)
    enforcement: Mapped[str] = mapped_column(String(4))  # hard | soft
    alert_thresholds: Mapped[list[str]] = mapped_column(JSON, default=list)  # percents as text
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class TenantBudget(Base):
    """A tenant's monthly spending budget; alerts fire at each percentage reached. Cost-center
    budgets use the same alert key with scope ``cost_center``."""

    __tablename__ = "tenant_budgets"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    alert_thresholds: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class UsageMilestone(Base):
    """Usage levels of a meter worth marking (1k, 10k, 100k calls), for one tenant or all."""

    __tablename__ = "usage_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meter_key: Mapped[str] = mapped_column(ForeignKey("meters.key"), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # null: every tenant
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class BillingAlert(Base):
    """A crossing, recorded once: the unique key makes insert-if-absent the only way to fire."""

    __tablename__ = "billing_alerts"
    __table_args__ = (
        UniqueConstraint(
            "kind",
            "scope",
            "tenant_id",
            "meter_key",
            "period_start",
            "threshold",
            name="uq_billing_alerts_crossing",
        ),
        Index("ix_billing_alerts_tenant", "tenant_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # quota | budget | milestone
    scope: Mapped[str] = mapped_column(String(140), default="tenant")  # or cost_center:<id>
    tenant_id: Mapped[str] = mapped_column(String(128))
    meter_key: Mapped[str] = mapped_column(String(63), default="")  # "" for budgets
    period_start: Mapped[date] = mapped_column(Date)
    threshold: Mapped[str] = mapped_column(String(48))  # percent, or milestone level
    value: Mapped[Decimal] = mapped_column(MONEY)  # usage or cost when it fired
    limit: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    source: Mapped[str] = mapped_column(String(20))  # realtime | warehouse
    fired_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class NotificationDelivery(Base):
    """Outbox: one per alert; published to Kafka and posted to the notification URL."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("billing_alerts.id"), unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(String)  # the CloudEvent, as sent
    status: Mapped[str] = mapped_column(String(12), default="pending")  # delivered | failed
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # Kafka
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
