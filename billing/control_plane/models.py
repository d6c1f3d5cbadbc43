"""Control-plane records (SQLAlchemy 2.0). Migrations live in ``api/migrations``.

Timestamps are stored as naive UTC. The pipeline snapshots these tables into the warehouse
(``raw.control_<table>``); the API never writes the warehouse.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from billing.rules.events import utc_now
from billing.rules.meters import Meter as MeterDefinition


class ExactDecimal(TypeDecorator):
    """Exact decimals on every backend: NUMERIC(p, s) on PostgreSQL, text on SQLite (whose
    NUMERIC affinity would store floats)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name == "sqlite":
            return format(value, "f")
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


class Base(DeclarativeBase):
    pass


class Meter(Base):
    __tablename__ = "meters"

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    event_type: Mapped[str] = mapped_column(String(200), index=True)
    aggregation: Mapped[str] = mapped_column(String(20))
    value_property: Mapped[str | None] = mapped_column(String(63), nullable=True)
    unit: Mapped[str] = mapped_column(String(32))
    group_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @classmethod
    def from_definition(cls, meter: MeterDefinition) -> Meter:
        return cls(
            key=meter.key,
            name=meter.name,
            event_type=meter.event_type,
            aggregation=meter.aggregation.value,
            value_property=meter.value_property,
            unit=meter.unit,
            group_by=list(meter.group_by),
        )


class ApiKey(Base):
    """A tenant API key. Only a SHA-256 hash of the secret part is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant_id", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# ----------------------------------------------------------------------------- plans
MONEY = ExactDecimal(38, 12)  # prices and amounts: exact, up to 12 decimals (Stripe's *_decimal)
QUANTITY = ExactDecimal(38, 9)


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


# ----------------------------------------------------------------------------- subscriptions
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


# ----------------------------------------------------------------------------- coupons
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


# ----------------------------------------------------------------------------- invoicing
class Tenant(Base):
    """A tenant's billing profile (optional: usage is accepted for any tenant id)."""

    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


class TaxRate(Base):
    __tablename__ = "tax_rates"

    code: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    percentage: Mapped[Decimal] = mapped_column(ExactDecimal(9, 6))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TenantTaxRate(Base):
    """Tax rates that apply to a tenant's invoices; several rates apply to the same base."""

    __tablename__ = "tenant_tax_rates"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.tenant_id"), primary_key=True)
    tax_rate_code: Mapped[str] = mapped_column(ForeignKey("tax_rates.code"), primary_key=True)


class CreditGrant(Base):
    """Credit granted to a tenant, applied to its invoices after tax, oldest invoice first."""

    __tablename__ = "credit_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(300), default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class InvoiceVoid(Base):
    """A finalized invoice declared void; the period is then invoiced again (re-issued)."""

    __tablename__ = "invoice_voids"

    invoice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300), default="")
    voided_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


# ----------------------------------------------------------------------------- cloud costs
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


# ----------------------------------------------------------------------------- quotas and alerts
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


# ----------------------------------------------------------------------------- real-time state
class RealtimeUsage(Base):
    """Running usage per tenant, meter and period, written by the real-time consumer."""

    __tablename__ = "realtime_usage"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    meter_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    aggregation: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    latest_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class RealtimeDistinctValue(Base):
    """Distinct values seen by unique_count meters, per tenant and period."""

    __tablename__ = "realtime_distinct_values"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    meter_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(256), primary_key=True)


class RealtimeSeenEvent(Base):
    """Every event counted, by (source, id): a replayed or duplicated event is skipped."""

    __tablename__ = "realtime_seen_events"

    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, index=True)


class RealtimeOffset(Base):
    """The consumer's next offset per partition, committed with the totals it produced."""

    __tablename__ = "realtime_offsets"

    consumer_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249), primary_key=True)
    kafka_partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class ReconciliationRun(Base):
    """One comparison of the real-time totals with the warehouse's period mart."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    snapshot: Mapped[str] = mapped_column(String(200))
    compared: Mapped[int] = mapped_column(Integer)
    drifted: Mapped[int] = mapped_column(Integer)


class ReconciliationDrift(Base):
    """A difference between real-time totals and the warehouse's period mart."""

    __tablename__ = "reconciliation_drifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(128))
    meter_key: Mapped[str] = mapped_column(String(63))
    period_start: Mapped[date] = mapped_column(Date)
    realtime_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    warehouse_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True)
    difference: Mapped[Decimal] = mapped_column(QUANTITY)


# ----------------------------------------------------------------------------- payments
# Pipeline-owned state: written by the payment collection job and the Stripe webhook.
class StripeCustomer(Base):
    """The one Stripe customer of a tenant (created on first need, never twice)."""

    __tablename__ = "stripe_customers"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class InvoicePayment(Base):
    """The payment status of a finalized invoice (see ``billing.rules.payments.PaymentStatus``)."""

    __tablename__ = "invoice_payments"

    invoice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tenant_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(32), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class PaymentAttempt(Base):
    """One PaymentIntent, recorded *before* the Stripe call (outbox): a crash between the call
    and recording its result leaves a ``started`` attempt that the next run recovers."""

    __tablename__ = "payment_attempts"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice_payments.invoice_id"), index=True)
    attempt_number: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(Integer)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    failure_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class StripeWebhookEvent(Base):
    """Stripe event ids already processed (each event is applied once)."""

    __tablename__ = "stripe_webhook_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)


class PaymentStatusEvent(Base):
    """Outbox of payment-status CloudEvents for Kafka (``billing-events``), written in the
    transaction that changes the status and published afterwards."""

    __tablename__ = "payment_status_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
