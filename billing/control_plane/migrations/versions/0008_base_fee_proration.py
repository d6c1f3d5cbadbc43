"""Plans say how their base fee is prorated: by days (the default) or by seconds."""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0008", "0007"  # created 2026-12-07


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column("base_fee_proration", sa.String(6), nullable=False, server_default="day")
        )


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("base_fee_proration")
