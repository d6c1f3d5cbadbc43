"""Invoicing: tenant billing profiles, tax rates, credit grants, invoice voids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def money():
    return sa.Numeric(38, 12).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "tax_rates",
        sa.Column("code", sa.String(63), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "percentage", sa.Numeric(9, 6).with_variant(sa.String(16), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
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
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
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
