"""The one declarative ``Base`` (one metadata for Alembic and the snapshots) and the exact decimal
column types."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import Numeric, String, TypeDecorator


class ExactDecimal(TypeDecorator):
    """Exact decimals on every backend: NUMERIC(p, s) on PostgreSQL, text on SQLite (whose
    NUMERIC affinity would store floats)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        if dialect.name == "sqlite":
            return format(value, "f")
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


class Base(DeclarativeBase):
    pass


MONEY = ExactDecimal(38, 12)  # prices and amounts: exact, up to 12 decimals (Stripe's *_decimal)
QUANTITY = ExactDecimal(38, 9)
