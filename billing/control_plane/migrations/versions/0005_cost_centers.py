"""Cloud costs: cost centers, allocation rules and their targets, tenant cost centers."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0005", "0004"  # created 2026-11-24


def upgrade() -> None:
    op.create_table(
        "cost_centers",
        sa.Column("code", sa.String(63), primary_key=True),
        col.name(),
        sa.Column("parent_code", sa.String(63), sa.ForeignKey("cost_centers.code"), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("monthly_budget", col.money(), nullable=True),
        sa.Column("budget_currency", sa.String(3), nullable=True),
        *col.timestamps(),
    )
    op.create_index("ix_cost_centers_parent_code", "cost_centers", ["parent_code"])
    op.create_table(
        "cost_allocation_rules",
        col.id_column(),
        col.name(),
        sa.Column("priority", sa.Integer(), nullable=False, unique=True),
        sa.Column("match_tag_key", sa.String(200), nullable=True),
        sa.Column("match_tag_value", sa.String(500), nullable=True),
        sa.Column("match_provider", sa.String(200), nullable=True),
        sa.Column("match_billing_account_id", sa.String(500), nullable=True),
        sa.Column("match_sub_account_id", sa.String(500), nullable=True),
        sa.Column("match_service_name", sa.String(500), nullable=True),
        sa.Column(
            "cost_center_code", sa.String(63), sa.ForeignKey("cost_centers.code"), nullable=True
        ),
        sa.Column("split_method", sa.String(20), nullable=True),
        sa.Column("usage_meter_key", sa.String(63), nullable=True),
        *col.timestamps(),
    )
    op.create_table(
        "cost_allocation_targets",
        sa.Column(
            "rule_id",
            sa.Integer(),
            sa.ForeignKey("cost_allocation_rules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "cost_center_code", sa.String(63), sa.ForeignKey("cost_centers.code"), primary_key=True
        ),
        sa.Column(
            "percentage", sa.Numeric(9, 6).with_variant(sa.String(16), "sqlite"), nullable=True
        ),
    )
    op.create_table(
        "tenant_cost_centers",
        col.tenant_id(primary_key=True),
        sa.Column(
            "cost_center_code", sa.String(63), sa.ForeignKey("cost_centers.code"), nullable=False
        ),
    )


def downgrade() -> None:
    for table in (
        "tenant_cost_centers",
        "cost_allocation_targets",
        "cost_allocation_rules",
        "cost_centers",
    ):
        op.drop_table(table)
