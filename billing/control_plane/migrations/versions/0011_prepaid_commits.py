"""Prepaid commits: a contract's commit amount, rollover and wallet grant, and its instalments."""

import sqlalchemy as sa
from alembic import op

from billing.control_plane.migrations import columns as col

revision, down_revision = "0011", "0010"  # created 2026-12-08


def upgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("prepaid_commit_amount", col.money(), nullable=True))
        batch.add_column(
            sa.Column(
                "prepaid_commit_rollover", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("prepaid_grant_id", sa.Integer(), nullable=True))
    op.create_table(
        "contract_commit_instalments",
        col.id_column(),
        sa.Column("contract_id", sa.String(40), sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("instalment_index", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("amount", col.money(), nullable=False),
        sa.UniqueConstraint("contract_id", "instalment_index", name="uq_contract_instalments"),
    )
    op.create_index(
        "ix_contract_commit_instalments_contract_id",
        "contract_commit_instalments",
        ["contract_id"],
    )


def downgrade() -> None:
    op.drop_table("contract_commit_instalments")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_column("prepaid_grant_id")
        batch.drop_column("prepaid_commit_rollover")
        batch.drop_column("prepaid_commit_amount")
