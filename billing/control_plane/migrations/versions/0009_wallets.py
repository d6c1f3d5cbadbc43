"""Wallets per tenant and currency, with a priority, and their append-only grants."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0009", "0008"  # created 2026-12-07


def upgrade() -> None:
    op.create_table(
        "wallets",
        col.id_column(),
        col.tenant_id(),
        col.currency(),
        col.name(),
        sa.Column("priority", sa.Integer(), nullable=False),
        col.created_at(),
    )
    op.create_table(
        "wallet_grants",
        col.id_column(),
        sa.Column("wallet_id", sa.Integer(), sa.ForeignKey("wallets.id"), nullable=False),
        col.tenant_id(),
        col.currency(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=True),
        sa.Column("amount", col.money(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
    )
    for table, column in (
        ("wallets", "tenant_id"),
        ("wallet_grants", "wallet_id"),
        ("wallet_grants", "tenant_id"),
    ):
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    op.drop_table("wallet_grants")
    op.drop_table("wallets")
