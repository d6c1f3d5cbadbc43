"""Column shapes the revisions share, so each is spelt once.

Each helper returns a new object every call (a ``Column`` belongs to one table). Changing one
changes what every revision that uses it creates: add a new helper rather than edit one.
"""

from __future__ import annotations

import sqlalchemy as sa


def money() -> sa.types.TypeEngine:
    """Exact decimals: NUMERIC on PostgreSQL, text on SQLite (see ``models.base.ExactDecimal``)."""
    return sa.Numeric(38, 12).with_variant(sa.String(40), "sqlite")


def id_column() -> sa.Column:
    """An autoincrementing integer primary key named ``id``."""
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def tenant_id(*, primary_key: bool = False) -> sa.Column:
    if primary_key:
        return sa.Column("tenant_id", sa.String(128), primary_key=True)
    return sa.Column("tenant_id", sa.String(128), nullable=False)


def name() -> sa.Column:
    return sa.Column("name", sa.String(200), nullable=False)


def currency() -> sa.Column:
    return sa.Column("currency", sa.String(3), nullable=False)


def created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(), nullable=False)


def timestamps() -> tuple[sa.Column, sa.Column]:
    """``created_at`` then ``updated_at``, both required."""
    return created_at(), sa.Column("updated_at", sa.DateTime(), nullable=False)


def archived_at() -> sa.Column:
    return sa.Column("archived_at", sa.DateTime(), nullable=True)
