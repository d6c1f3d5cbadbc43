"""Copy control-plane tables into the warehouse (``raw.control_<table>``), replacing the last
copy in one transaction. The control-plane schema is passed in as SQLAlchemy tables, so this
module stays independent of the API package."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from adapters.warehouse.connection import Warehouse
from billing.control_plane import models
from billing.control_plane.db import get_engine
from billing.rules.events import utc_now
from billing.settings import Settings


class ControlPlaneNotReady(RuntimeError):
    pass


# Control-plane tables copied into the warehouse. API keys are deliberately not copied.
SNAPSHOT_TABLES = tuple(
    getattr(models, name).__table__
    for name in (
        "Meter",
        "Plan",
        "PlanCharge",
        "PlanChargeTier",
        "Subscription",
        "SubscriptionPhase",
        "SubscriptionOverrideVersion",
        "SubscriptionChargeOverride",
        "SubscriptionChargeOverrideTier",
        "Contract",
        "ContractRamp",
        "ContractCommitInstalment",
        "Coupon",
        "CouponRedemption",
        "Tenant",
        "TaxRate",
        "TenantTaxRate",
        "CreditGrant",
        "Wallet",
        "WalletGrant",
        "InvoiceVoid",
        "CostCenter",
        "CostAllocationRule",
        "CostAllocationTarget",
        "TenantCostCenter",
    )
)


def _column_types(column: sa.Column) -> tuple[str, str]:
    t = column.type
    if isinstance(t, sa.JSON):
        return "varchar", "text"
    if isinstance(t, sa.Boolean):
        return "boolean", "boolean"
    if isinstance(t, sa.DateTime):
        return "timestamp", "timestamp"
    if isinstance(t, sa.Date):
        return "date", "date"
    precision, scale = getattr(t, "precision", None), getattr(t, "scale", None)
    if precision and scale is not None and not isinstance(t, sa.Float):
        return f"decimal({precision}, {scale})", f"numeric({precision}, {scale})"
    if isinstance(t, sa.Numeric) and not isinstance(t, sa.Float):
        return "decimal(38, 9)", "numeric(38, 9)"
    if isinstance(t, sa.Integer):
        return "bigint", "bigint"
    return "varchar", "text"


def _value(value, is_json: bool):
    if is_json:
        return None if value is None else json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, (datetime, date, Decimal, int, bool, str)) or value is None:
        return value
    return str(value)


def snapshot_tables(
    engine: sa.Engine, tables: Sequence[sa.Table], warehouse: Warehouse
) -> dict[str, int]:
    """Copy ``tables`` from the control plane; return the row count per table."""
    inspector = sa.inspect(engine)
    missing = [t.name for t in tables if not inspector.has_table(t.name)]
    if missing:
        raise ControlPlaneNotReady(
            f"control-plane tables {missing} do not exist yet: run `billing migrate` "
            "(or start the API once) to create them"
        )
    snapshot_at = utc_now()
    data: dict[str, tuple[list, dict[str, list]]] = {}
    with engine.connect() as conn:
        for table in tables:
            columns = [(c.name, *_column_types(c)) for c in table.columns]
            json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
            rows = conn.execute(sa.select(table)).mappings().all()
            values = {
                name: [_value(row[name], name in json_cols) for row in rows]
                for name, _, _ in columns
            }
            columns.append(("snapshot_at", "timestamp", "timestamp"))
            values["snapshot_at"] = [snapshot_at] * len(rows)
            data[table.name] = (columns, values)
    counts = {}
    with warehouse.connection() as con, con.transaction():
        con.execute("create schema if not exists raw")
        for name, (columns, values) in data.items():
            temp = f"snapshot_{name}"
            con.load_temp_table(temp, columns, values)
            target = f"raw.control_{name}"
            existing = [
                r[0]
                for r in con.fetchall(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = :t order by ordinal_position",
                    {"t": f"control_{name}"},
                )
            ]
            if existing == [c[0] for c in columns]:
                # Same shape: replace the rows, keeping the views dbt built on the table.
                con.execute(f"delete from {target}")
                con.execute(f"insert into {target} select * from {temp}")
            else:
                cascade = " cascade" if con.kind == "postgres" else ""
                con.execute(f"drop table if exists {target}{cascade}")
                con.execute(f"create table {target} as select * from {temp}")
            counts[name] = len(values["snapshot_at"])
    return counts


def snapshot_control_plane(settings: Settings) -> dict[str, int]:
    """Copy every snapshot table of the control plane into the warehouse (the pipeline's first
    step); returns the rows copied per table."""
    return snapshot_tables(get_engine(settings), SNAPSHOT_TABLES, Warehouse(settings))
