"""Quotas, budgets, milestones, alerts with their notification outbox, real-time usage state and
reconciliation reports."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0006", "0005"  # created 2026-11-24


def quantity():
    return sa.Numeric(38, 9).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resource_quotas",
        col.id_column(),
        col.tenant_id(),
        sa.Column("meter_key", sa.String(63), sa.ForeignKey("meters.key"), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("limit", quantity(), nullable=False),
        sa.Column("enforcement", sa.String(4), nullable=False),
        sa.Column("alert_thresholds", sa.JSON(), nullable=False),
        *col.timestamps(),
        sa.UniqueConstraint("tenant_id", "meter_key", name="uq_resource_quotas"),
    )
    op.create_table(
        "tenant_budgets",
        col.tenant_id(primary_key=True),
        col.currency(),
        sa.Column("amount", col.money(), nullable=False),
        sa.Column("alert_thresholds", sa.JSON(), nullable=False),
        *col.timestamps(),
    )
    op.create_table(
        "usage_milestones",
        col.id_column(),
        sa.Column("meter_key", sa.String(63), sa.ForeignKey("meters.key"), nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=True),
        sa.Column("levels", sa.JSON(), nullable=False),
        col.created_at(),
    )
    op.create_index("ix_usage_milestones_meter_key", "usage_milestones", ["meter_key"])
    op.create_table(
        "billing_alerts",
        col.id_column(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(140), nullable=False),
        col.tenant_id(),
        sa.Column("meter_key", sa.String(63), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("threshold", sa.String(48), nullable=False),
        sa.Column("value", col.money(), nullable=False),
        sa.Column("limit", col.money(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.UniqueConstraint(
            "kind",
            "scope",
            "tenant_id",
            "meter_key",
            "period_start",
            "threshold",
            name="uq_billing_alerts_crossing",
        ),
    )
    op.create_index("ix_billing_alerts_tenant", "billing_alerts", ["tenant_id", "period_start"])
    op.create_table(
        "notification_deliveries",
        col.id_column(),
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("billing_alerts.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        col.created_at(),
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "realtime_usage",
        col.tenant_id(primary_key=True),
        sa.Column("meter_key", sa.String(63), primary_key=True),
        sa.Column("period_start", sa.Date(), primary_key=True),
        sa.Column("aggregation", sa.String(20), nullable=False),
        sa.Column("quantity", quantity(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("latest_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "realtime_distinct_values",
        col.tenant_id(primary_key=True),
        sa.Column("meter_key", sa.String(63), primary_key=True),
        sa.Column("period_start", sa.Date(), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
    )
    op.create_table(
        "realtime_seen_events",
        sa.Column("source", sa.String(512), primary_key=True),
        sa.Column("event_id", sa.String(256), primary_key=True),
        sa.Column("period_start", sa.Date(), nullable=False),
    )
    op.create_index(
        "ix_realtime_seen_events_period_start", "realtime_seen_events", ["period_start"]
    )
    op.create_table(
        "realtime_offsets",
        sa.Column("consumer_name", sa.String(128), primary_key=True),
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("kafka_partition", sa.Integer(), primary_key=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "reconciliation_runs",
        col.id_column(),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("snapshot", sa.String(200), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("drifted", sa.Integer(), nullable=False),
    )
    op.create_index("ix_reconciliation_runs_run_at", "reconciliation_runs", ["run_at"])
    op.create_table(
        "reconciliation_drifts",
        col.id_column(),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("reconciliation_runs.id"), nullable=False),
        col.tenant_id(),
        sa.Column("meter_key", sa.String(63), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("realtime_quantity", quantity(), nullable=True),
        sa.Column("warehouse_quantity", quantity(), nullable=True),
        sa.Column("difference", quantity(), nullable=False),
    )
    op.create_index("ix_reconciliation_drifts_run_id", "reconciliation_drifts", ["run_id"])


def downgrade() -> None:
    for table in (
        "reconciliation_drifts",
        "reconciliation_runs",
        "realtime_offsets",
        "realtime_seen_events",
        "realtime_distinct_values",
        "realtime_usage",
        "notification_deliveries",
        "billing_alerts",
        "usage_milestones",
        "tenant_budgets",
        "resource_quotas",
    ):
        op.drop_table(table)
