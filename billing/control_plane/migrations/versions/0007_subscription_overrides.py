"""Per-subscription price overrides: versions, charge overrides and their tiers."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0007", "0006"  # created 2026-12-07


def quantity():
    return sa.Numeric(38, 9).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscription_override_versions",
        col.id_column(),
        sa.Column(
            "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("effective_from", sa.DateTime(), nullable=False),
        sa.Column("base_fee_amount", col.money(), nullable=True),
        sa.Column("reason", sa.String(30), nullable=False),
        col.created_at(),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("subscription_id", "version", name="uq_subscription_override_versions"),
    )
    op.create_index(
        "ix_subscription_override_versions_subscription_id",
        "subscription_override_versions",
        ["subscription_id"],
    )
    op.create_table(
        "subscription_charge_overrides",
        col.id_column(),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("subscription_override_versions.id"),
            nullable=False,
        ),
        sa.Column("charge_id", sa.Integer(), sa.ForeignKey("plan_charges.id"), nullable=False),
        sa.Column("meter_key", sa.String(63), nullable=False),
        sa.Column("unit_amount", col.money(), nullable=True),
        sa.Column("package_size", quantity(), nullable=True),
        sa.Column("flat_amount", col.money(), nullable=True),
        sa.Column("free_units", quantity(), nullable=True),
        sa.Column("minimum_amount", col.money(), nullable=True),
        sa.Column("has_tiers", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("version_id", "meter_key", name="uq_subscription_charge_overrides"),
    )
    op.create_index(
        "ix_subscription_charge_overrides_version_id",
        "subscription_charge_overrides",
        ["version_id"],
    )
    op.create_table(
        "subscription_charge_override_tiers",
        sa.Column(
            "override_id",
            sa.Integer(),
            sa.ForeignKey("subscription_charge_overrides.id"),
            primary_key=True,
        ),
        sa.Column("tier_index", sa.Integer(), primary_key=True),
        sa.Column("up_to", quantity(), nullable=True),
        sa.Column("unit_amount", col.money(), nullable=False),
        sa.Column("flat_amount", col.money(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subscription_charge_override_tiers")
    op.drop_table("subscription_charge_overrides")
    op.drop_table("subscription_override_versions")
