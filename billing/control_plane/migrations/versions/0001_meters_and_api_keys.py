"""Meters and tenant API keys."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0001", None  # created 2026-11-24


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("key", sa.String(63), primary_key=True),
        col.name(),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("aggregation", sa.String(20), nullable=False),
        sa.Column("value_property", sa.String(63), nullable=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("group_by", sa.JSON(), nullable=False),
        *col.timestamps(),
        col.archived_at(),
    )
    op.create_index("ix_meters_event_type", "meters", ["event_type"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        col.tenant_id(),
        col.name(),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        col.created_at(),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_tenant_id", "api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_meters_event_type", "meters")
    op.drop_table("meters")
