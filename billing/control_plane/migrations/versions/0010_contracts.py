"""Contracts: a tenant's term, its postpaid commit, and its ramps (override versions)."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0010", "0009"  # created 2026-12-07


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(40), primary_key=True),
        col.tenant_id(),
        sa.Column(
            "subscription_id", sa.String(40), sa.ForeignKey("subscriptions.id"), nullable=False
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        col.currency(),
        sa.Column("postpaid_commit_amount", col.money(), nullable=True),
        col.created_at(),
    )
    op.create_index("ix_contracts_tenant_id", "contracts", ["tenant_id"])
    op.create_index("ix_contracts_subscription_id", "contracts", ["subscription_id"])
    op.create_table(
        "contract_ramps",
        col.id_column(),
        sa.Column("contract_id", sa.String(40), sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("ramp_index", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column(
            "override_version_id",
            sa.Integer(),
            sa.ForeignKey("subscription_override_versions.id"),
            nullable=False,
        ),
        sa.UniqueConstraint("contract_id", "ramp_index", name="uq_contract_ramps"),
    )
    op.create_index("ix_contract_ramps_contract_id", "contract_ramps", ["contract_id"])


def downgrade() -> None:
    op.drop_table("contract_ramps")
    op.drop_table("contracts")
