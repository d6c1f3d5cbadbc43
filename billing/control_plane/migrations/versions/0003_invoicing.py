"""Invoicing: tenant billing profiles, tax rates, credit grants, invoice voids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations.columns import (
    archived_at,
    created_at,
    currency,
    id_column,
    money,
    name,
    tenant_id,
    timestamps,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        tenant_id(primary_key=True),
        name(),
        sa.Column("email", sa.String(320), nullable=True),
        *timestamps(),
    )
    op.create_table(
        "tax_rates",
        sa.Column("code", sa.String(63), primary_key=True),
        name(),
        sa.Column(
            "percentage", sa.Numeric(9, 6).with_variant(sa.String(16), "sqlite"), nullable=False
        ),
        created_at(),
        archived_at(),
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
        id_column(),
        tenant_id(),
        currency(),
        sa.Column("amount", money(), nullable=False),
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
