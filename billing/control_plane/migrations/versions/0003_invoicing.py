"""Invoicing: tenant billing profiles, tax rates, credit grants, invoice voids."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0003", "0002"  # created 2026-11-24


def upgrade() -> None:
    op.create_table(
        "tenants",
        col.tenant_id(primary_key=True),
        col.name(),
        sa.Column("email", sa.String(320), nullable=True),
        *col.timestamps(),
    )
    op.create_table(
        "tax_rates",
        sa.Column("code", sa.String(63), primary_key=True),
        col.name(),
        sa.Column(
            "percentage", sa.Numeric(9, 6).with_variant(sa.String(16), "sqlite"), nullable=False
        ),
        col.created_at(),
        col.archived_at(),
    )
    op.create_table(
        "tenant_tax_rates",
        sa.Column(
            "tenant_id", sa.String(128), sa.ForeignKey("tenants.tenant_id"), primary_key=True
        ),
        sa.Column(
            "tax_rate_code", sa.String(63), sa.ForeignKey("tax_rates.code"), primary_key=True
        ),
    )
    op.create_table(
        "credit_grants",
        col.id_column(),
        col.tenant_id(),
        col.currency(),
        sa.Column("amount", col.money(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_credit_grants_tenant_id", "credit_grants", ["tenant_id"])
    op.create_table(
        "invoice_voids",
        sa.Column("invoice_id", sa.String(64), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("invoice_voids", "credit_grants", "tenant_tax_rates", "tax_rates", "tenants"):
        op.drop_table(table)
