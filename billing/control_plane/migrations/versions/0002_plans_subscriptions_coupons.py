"""Plans (versioned) with charges and tiers, subscriptions with their phases and events,
coupons and their redemptions."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0002", "0001"  # created 2026-11-24


def quantity():
    return sa.Numeric(38, 9).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        col.id_column(),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        col.name(),
        sa.Column("description", sa.String(2000), nullable=False),
        col.currency(),
        sa.Column("interval", sa.String(10), nullable=False),
        sa.Column("base_fee_amount", col.money(), nullable=False),
        sa.Column("base_fee_timing", sa.String(12), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        col.created_at(),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        col.archived_at(),
        sa.UniqueConstraint("code", "version", name="uq_plans_code_version"),
    )
    op.create_index("ix_plans_code", "plans", ["code"])
    op.create_table(
        "plan_charges",
        col.id_column(),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("meter_key", sa.String(63), sa.ForeignKey("meters.key"), nullable=False),
        sa.Column("price_model", sa.String(20), nullable=False),
        sa.Column("unit_amount", col.money(), nullable=True),
        sa.Column("package_size", quantity(), nullable=True),
        sa.Column("flat_amount", col.money(), nullable=True),
        sa.Column("free_units", quantity(), nullable=False),
        sa.Column("minimum_amount", col.money(), nullable=True),
        sa.UniqueConstraint("plan_id", "meter_key", name="uq_plan_charges_meter"),
    )
    op.create_index("ix_plan_charges_plan_id", "plan_charges", ["plan_id"])
    op.create_table(
        "plan_charge_tiers",
        sa.Column("charge_id", sa.Integer(), sa.ForeignKey("plan_charges.id"), primary_key=True),
        sa.Column("tier_index", sa.Integer(), primary_key=True),
        sa.Column("up_to", quantity(), nullable=True),
        sa.Column("unit_amount", col.money(), nullable=False),
        sa.Column("flat_amount", col.money(), nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        col.tenant_id(),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("trial_ends_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_at", sa.DateTime(), nullable=True),
        sa.Column("canceled_at", sa.DateTime(), nullable=True),
        *col.timestamps(),
    )
    op.create_index("ix_subscriptions_tenant_id", "subscriptions", ["tenant_id"])
    op.create_table(
        "subscription_phases",
        col.id_column(),
        sa.Column(
            "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False
        ),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(30), nullable=False),
    )
    op.create_index(
        "ix_subscription_phases_subscription_id", "subscription_phases", ["subscription_id"]
    )
    op.create_table(
        "subscription_events",
        col.id_column(),
        sa.Column(
            "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("effective_at", sa.DateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_subscription_events_subscription_id", "subscription_events", ["subscription_id"]
    )
    op.create_table(
        "coupons",
        col.id_column(),
        sa.Column("code", sa.String(63), nullable=False, unique=True),
        col.name(),
        sa.Column(
            "percent_off", sa.Numeric(7, 4).with_variant(sa.String(12), "sqlite"), nullable=True
        ),
        sa.Column("amount_off", col.money(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("duration", sa.String(10), nullable=False),
        sa.Column("duration_in_months", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), nullable=False),
        sa.Column("redeem_by", sa.DateTime(), nullable=True),
        sa.Column("plan_codes", sa.JSON(), nullable=False),
        col.created_at(),
        col.archived_at(),
    )
    op.create_table(
        "coupon_redemptions",
        col.id_column(),
        sa.Column("coupon_id", sa.Integer(), sa.ForeignKey("coupons.id"), nullable=False),
        sa.Column(
            "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False
        ),
        sa.Column("redeemed_at", sa.DateTime(), nullable=False),
        sa.Column("first_period_start", sa.Date(), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=True),
        sa.UniqueConstraint("coupon_id", "subscription_id", name="uq_coupon_redemptions_once"),
    )
    op.create_index("ix_coupon_redemptions_coupon_id", "coupon_redemptions", ["coupon_id"])
    op.create_index(
        "ix_coupon_redemptions_subscription_id", "coupon_redemptions", ["subscription_id"]
    )


def downgrade() -> None:
    for table in (
        "coupon_redemptions",
        "coupons",
        "subscription_events",
        "subscription_phases",
        "subscriptions",
        "plan_charge_tiers",
        "plan_charges",
        "plans",
    ):
        op.drop_table(table)
