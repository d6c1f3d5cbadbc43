"""Warehouse access for the pipeline: one interface, a DuckDB and a PostgreSQL implementation.

Only the pipeline writes the warehouse. SQL here is written once with ``:name`` parameters and
translated to each driver's style; where the dialects differ (types, bulk loading) the
implementations say so explicitly.

Schemas: ``raw`` (landed events, dead letters, offsets, control-plane snapshots, pipeline
bookkeeping), ``staging`` / ``intermediate`` / ``marts`` (dbt), and the serving snapshots the API
reads (see :mod:`adapters.warehouse.serving`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from billing.ports import ColumnTypes, WarehouseConnection  # noqa: F401  (re-exported)
from billing.settings import Settings

_PARAM_RE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

# Column types of a bulk-loaded batch: name -> (duckdb type, postgres type).


def _raw_ddl(json_type: str, text: str) -> list[str]:
    return [
        "create schema if not exists raw",
        "create sequence if not exists raw.landing_batch_seq start 1",
        f"""create table if not exists raw.usage_events (
            source {text} not null,
            event_id {text} not null,
            spec_version {text} not null,
            event_type {text} not null,
            tenant_id {text} not null,
            event_at timestamp not null,
            period_start date not null,
            data {json_type} not null,
            extensions {json_type},
            kafka_topic {text} not null,
            kafka_partition integer not null,
            kafka_offset bigint not null,
            landing_batch_id bigint not null,
            landed_at timestamp not null,
            is_late boolean not null,
            primary key (source, event_id)
        )""",
        f"""create table if not exists raw.usage_events_dead_letter (
            kafka_topic {text} not null,
            kafka_partition integer not null,
            kafka_offset bigint not null,
            kafka_key {text},
            kafka_timestamp timestamp,
            payload {text} not null,
            payload_encoding {text} not null,
            reason_code {text} not null,
            reason {text} not null,
            landing_batch_id bigint not null,
            dead_lettered_at timestamp not null,
            primary key (kafka_topic, kafka_partition, kafka_offset)
        )""",
        f"""create table if not exists raw.usage_not_counted (
            source {text} not null,
            event_id {text} not null,
            meter_key {text} not null,
            reason_code {text} not null,
            reason {text} not null,
            tenant_id {text} not null,
            event_type {text} not null,
            event_at timestamp not null,
            period_start date not null,
            landing_batch_id bigint not null,
            recorded_at timestamp not null,
            primary key (source, event_id, meter_key)
        )""",
        f"""create table if not exists raw.kafka_offsets (
            consumer_name {text} not null,
            topic {text} not null,
            kafka_partition integer not null,
            topic_id {text},
            next_offset bigint not null,
            landing_batch_id bigint,
            updated_at timestamp not null,
            primary key (consumer_name, topic, kafka_partition)
        )""",
        f"""create table if not exists raw.landing_batches (
            landing_batch_id bigint primary key,
            consumer_name {text} not null,
            topic {text} not null,
            started_at timestamp not null,
            committed_at timestamp not null,
            messages integer not null,
            landed integer not null,
            duplicates integer not null,
            dead_lettered integer not null,
            late integer not null,
            min_event_at timestamp,
            max_event_at timestamp
        )""",
        """create table if not exists raw.usage_period_watermarks (
            period_start date primary key,
            last_landing_batch_id bigint not null,
            last_landed_at timestamp not null
        )""",
        """create table if not exists raw.usage_period_builds (
            period_start date primary key,
            built_through_batch_id bigint not null,
            built_at timestamp not null
        )""",
        f"""create table if not exists raw.closed_billing_periods (
            period_start date primary key,
            closed_at timestamp not null,
            closed_by {text} not null
        )""",
        f"""create table if not exists raw.finalized_invoices (
            invoice_id {text} primary key,
            invoice_number {text} not null unique,
            subscription_id {text} not null,
            tenant_id {text} not null,
            period_start date not null,
            period_end date not null,
            issue_number integer not null,
            currency {text} not null,
            subtotal_amount numeric(38, 9) not null,
            discount_amount numeric(38, 9) not null,
            tax_rate_percentage numeric(12, 6) not null,
            tax_amount numeric(38, 9) not null,
            amount_due_before_credits numeric(38, 9) not null,
            credit_amount numeric(38, 9) not null,
            total_amount numeric(38, 9) not null,
            finalized_at timestamp not null
        )""",
        f"""create table if not exists raw.finalized_invoice_lines (
            invoice_id {text} not null,
            line_number integer not null,
            line_kind {text} not null,
            description {text} not null,
            service_period_start date not null,
            plan_id bigint,
            charge_id bigint,
            meter_key {text},
            quantity numeric(38, 9),
            amount numeric(38, 9) not null,
            primary key (invoice_id, line_number)
        )""",
        f"""create table if not exists raw.wallet_ledger_entries (
            entry_id {text} primary key,
            entry_kind {text} not null,
            wallet_id bigint not null,
            grant_id bigint not null,
            tenant_id {text} not null,
            currency {text} not null,
            amount numeric(38, 12) not null,
            invoice_id {text},
            cause {text} not null,
            entry_at timestamp not null
        )""",
        f"""create table if not exists raw.finalized_invoice_documents (
            invoice_id {text} primary key,
            media_type {text} not null,
            content_sha256 {text} not null,
            content_base64 {text} not null,
            byte_count bigint not null,
            rendered_at timestamp not null
        )""",
        *_cost_ddl(json_type, text),
        f"""create table if not exists raw.pipeline_locks (
            lock_name {text} primary key,
            locked_by {text} not null,
            locked_at timestamp not null,
            lock_until timestamp not null
        )""",
    ]


def _cost_ddl(json_type: str, text: str) -> list[str]:
    """Cloud cost files (``ingestion.costs``): one row per file, one per landed line."""
    from billing.rules.cost_lines import COST_TYPE, ROW_COLUMNS

    duck = json_type == "varchar"
    cost_type = COST_TYPE[0] if duck else COST_TYPE[1]
    columns = ",\n            ".join(
        f"{name} {duck_type if duck else pg_type}"
        + (" not null" if name in ("file_id", "row_number", "source_format") else "")
        for name, duck_type, pg_type in ROW_COLUMNS
    )
    return [
        f"""create table if not exists raw.cost_files (
            file_id {text} primary key,
            file_name {text} not null,
            source_format {text},
            provider_name {text},
            status {text} not null,
            row_count bigint not null,
            error {text},
            billing_period_start timestamp,
            billing_period_end timestamp,
            billing_currencies {text},
            billed_cost_total {cost_type},
            effective_cost_total {cost_type},
            coverage {json_type},
            landed_seq bigint not null,
            first_landed_at timestamp not null,
            landed_at timestamp not null,
            superseded_by {text}
        )""",
        f"""create table if not exists raw.cost_file_rows (
            {columns},
            primary key (file_id, row_number)
        )""",
    ]


def _as_arrow(columns: ColumnTypes, data: Any):
    """Column lists (a dict) or an Arrow table, as an Arrow table with microsecond times."""
    import pyarrow as pa

    if isinstance(data, dict):
        table = pa.table({col: pa.array(data[col]) for col, _, _ in columns})
    else:
        table = data
    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            fields.append(pa.field(field.name, pa.timestamp("us")))
        else:
            fields.append(field)
    return table.cast(pa.schema(fields))


def _raise_for_nul(name: str, table) -> None:
    """PostgreSQL text cannot hold U+0000: name the column and row instead of a COPY error."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for field in table.schema:
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            hits = pc.indices_nonzero(
                pc.fill_null(pc.match_substring(table[field.name], "\x00"), False)
            )
            if len(hits):
                row = hits[0].as_py()
                raise ValueError(
                    f"{name}.{field.name} row {row} contains a NUL character, which PostgreSQL "
                    f"cannot store: {table[field.name][row].as_py()!r:.200}"
                )
    raise ValueError(f"{name} contains a NUL character, which PostgreSQL cannot store")


class DuckDBConnection(WarehouseConnection):
    kind = "duckdb"

    def __init__(self, path: Path, read_only: bool = False):
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(path), read_only=read_only)
        self.path = path

    @staticmethod
    def _prepare(sql: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        used = set(_PARAM_RE.findall(sql))
        return _PARAM_RE.sub(r"$\1", sql), {k: v for k, v in (params or {}).items() if k in used}

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        rel = self._con.execute(*self._prepare(sql, params))
        try:
            row = rel.fetchone()
        except Exception:  # statements without a result set
            return -1
        if row and len(row) == 1 and isinstance(row[0], int):
            return row[0]
        return -1

    def fetchall(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        return self._con.execute(*self._prepare(sql, params)).fetchall()

    def load_temp_table(self, name: str, columns: ColumnTypes, data: Any) -> None:
        arrow = _as_arrow(columns, data)
        view = f"__arrow_{name}"
        self._con.register(view, arrow)
        try:
            casts = ", ".join(f"cast({col} as {duck}) as {col}" for col, duck, _ in columns)
            self._con.execute(f"create or replace temp table {name} as select {casts} from {view}")
        finally:
            self._con.unregister(view)

    @property
    def raw(self) -> Any:
        """The underlying duckdb connection."""
        return self._con

    def begin(self) -> None:
        self._con.begin()

    def commit(self) -> None:
        self._con.commit()

    def rollback(self) -> None:
        self._con.rollback()

    def close(self) -> None:
        self._con.close()


class PostgresConnection(WarehouseConnection):
    kind = "postgres"

    def __init__(self, dsn: str):
        import psycopg

        self._con = psycopg.connect(dsn, autocommit=True)
        self._in_tx = False

    @staticmethod
    def _sql(sql: str) -> str:
        return _PARAM_RE.sub(r"%(\1)s", sql.replace("%", "%%"))

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        with self._con.cursor() as cur:
            if params:
                cur.execute(self._sql(sql), params)
            else:
                cur.execute(sql)
            return cur.rowcount

    def fetchall(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        with self._con.cursor() as cur:
            if params:
                cur.execute(self._sql(sql), params)
            else:
                cur.execute(sql)
            return cur.fetchall() if cur.description else []

    def load_temp_table(self, name: str, columns: ColumnTypes, data: Any) -> None:
        import io

        import pyarrow.csv as pacsv

        arrow = _as_arrow(columns, data)
        cols = ", ".join(f"{col} {pg}" for col, _, pg in columns)
        names = ", ".join(col for col, _, _ in columns)
        buffer = io.BytesIO()
        pacsv.write_csv(
            arrow.select([col for col, _, _ in columns]),
            buffer,
            pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        data = buffer.getvalue()
        if b"\x00" in data:
            _raise_for_nul(name, arrow)
        with self._con.cursor() as cur:
            cur.execute(f"drop table if exists pg_temp.{name}")
            cur.execute(f"create temp table {name} ({cols})")
            with cur.copy(f"copy {name} ({names}) from stdin with (format csv)") as copy:
                copy.write(data)

    @property
    def raw(self) -> Any:
        return self._con

    def begin(self) -> None:
        self._con.execute("begin")
        self._in_tx = True

    def commit(self) -> None:
        self._con.execute("commit")
        self._in_tx = False

    def rollback(self) -> None:
        if not self._con.closed:
            self._con.execute("rollback")
        self._in_tx = False

    def close(self) -> None:
        self._con.close()


class Warehouse:
    """Factory for warehouse connections, chosen by ``BILLING_WAREHOUSE_URL``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.kind = settings.warehouse_kind

    def connect(self, read_only: bool = False) -> WarehouseConnection:
        if self.kind == "duckdb":
            return DuckDBConnection(self.settings.duckdb_path, read_only=read_only)
        return PostgresConnection(self.settings.postgres_dsn)

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[WarehouseConnection]:
        con = self.connect(read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def json_type(self) -> str:
        return "varchar" if self.kind == "duckdb" else "jsonb"

    def ensure_schema(self, con: WarehouseConnection | None = None) -> None:
        """Create the raw landing schema and bookkeeping tables if missing (idempotent)."""
        text = "varchar" if self.kind == "duckdb" else "text"
        statements = _raw_ddl(self.json_type(), text)
        if con is not None:
            for statement in statements:
                con.execute(statement)
            return
        with self.connection() as own:
            if self.kind == "postgres":
                # Serialise concurrent first runs: DDL "if not exists" races on catalog rows.
                with own.transaction():
                    own.execute("select pg_advisory_xact_lock(7243001)")
                    for statement in statements:
                        own.execute(statement)
            else:
                for statement in statements:
                    own.execute(statement)
