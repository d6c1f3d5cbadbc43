"""Payments: Stripe customers, invoice payment status, payment attempts (outbox), processed
webhook events, payment-status CloudEvents outbox."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0004", "0003"  # created 2026-11-24


def upgrade() -> None:
    op.create_table(
        "stripe_customers",
        col.tenant_id(primary_key=True),
        sa.Column("customer_id", sa.String(255), nullable=False, unique=True),
        col.created_at(),
    )
    op.create_table(
        "invoice_payments",
        sa.Column("invoice_id", sa.String(64), primary_key=True),
        sa.Column("invoice_number", sa.String(32), nullable=True),
        col.tenant_id(),
        col.currency(),
        sa.Column("amount", col.money(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_retry_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        *col.timestamps(),
    )
    op.create_index("ix_invoice_payments_tenant_id", "invoice_payments", ["tenant_id"])
    op.create_index("ix_invoice_payments_status", "invoice_payments", ["status"])
    op.create_table(
        "payment_attempts",
        col.id_column(),
        sa.Column(
            "invoice_id",
            sa.String(64),
            sa.ForeignKey("invoice_payments.invoice_id"),
            nullable=False,
        ),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("failure_code", sa.String(100), nullable=True),
        sa.Column("failure_message", sa.String(500), nullable=True),
        *col.timestamps(),
        sa.UniqueConstraint("invoice_id", "attempt_number"),
    )
    op.create_index("ix_payment_attempts_invoice_id", "payment_attempts", ["invoice_id"])
    op.create_index(
        "ix_payment_attempts_payment_intent_id", "payment_attempts", ["payment_intent_id"]
    )
    op.create_table(
        "stripe_webhook_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "payment_status_events",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("invoice_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        col.created_at(),
        sa.Column("published_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_payment_status_events_invoice_id", "payment_status_events", ["invoice_id"])
    op.create_index(
        "ix_payment_status_events_published_at", "payment_status_events", ["published_at"]
    )


def downgrade() -> None:
    for table in (
        "payment_status_events",
        "stripe_webhook_events",
        "payment_attempts",
        "invoice_payments",
        "stripe_customers",
    ):
        op.drop_table(table)
