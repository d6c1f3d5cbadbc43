"""Serving snapshots: how the API reads marts without blocking or seeing a half-built run.

After a successful build the pipeline *publishes* every table of the ``marts`` schema as one
immutable snapshot and then atomically moves a pointer to it:

* DuckDB warehouse: a new DuckDB file ``<data dir>/serving/serving-<stamp>.duckdb``; the pointer
  is ``<data dir>/serving/CURRENT`` (JSON, replaced with an atomic rename). The API opens
  snapshot files read-only, so it never touches the warehouse file the pipeline holds open
  (DuckDB admits one writing process) and never waits for it.
* PostgreSQL warehouse: a new schema ``serving_<stamp>``; the pointer is the single row of
  ``serving.current``, updated in the same transaction that finished the copy.

Readers resolve the pointer per request and keep using the snapshot they started with; older
snapshots are dropped once more than ``BILLING_SERVING_SNAPSHOTS_KEPT`` exist.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.warehouse.connection import _PARAM_RE, Warehouse
from billing.ports import MissingTable, NoSnapshot  # noqa: F401  (re-exported)
from billing.rules.events import utc_now
from billing.settings import Settings

log = logging.getLogger(__name__)

POINTER_FILE = "CURRENT"
SNAPSHOT_PREFIX = "serving-"
PG_SCHEMA_PREFIX = "serving_"
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    published_at: datetime
    tables: tuple[str, ...]
    run_id: str | None = None


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dt%H%M%S%f") + "_" + uuid.uuid4().hex[:6]


def _check_ident(name: str) -> str:
    if not _IDENT_RE.match(name):
        raise ValueError(f"unsafe identifier {name!r}")
    return name


# ---------------------------------------------------------------------------- publishing
def publish_snapshot(settings: Settings, run_id: str | None = None) -> SnapshotInfo:
    """Copy every table of ``marts`` into a new snapshot and point readers at it."""
    warehouse = Warehouse(settings)
    if warehouse.kind == "duckdb":
        return _publish_duckdb(settings, warehouse, run_id)
    return _publish_postgres(settings, warehouse, run_id)


def _publish_duckdb(settings: Settings, warehouse: Warehouse, run_id: str | None) -> SnapshotInfo:
    now = utc_now()
    directory = settings.serving_dir
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{SNAPSHOT_PREFIX}{_stamp(now)}.duckdb"
    path = directory / name
    with warehouse.connection() as con:
        tables = [_check_ident(t) for t in con.list_tables("marts")]
        con.execute(f"attach '{path}' as serving_snapshot")
        try:
            for table in tables:
                con.execute(
                    f"create table serving_snapshot.main.{table} as select * from marts.{table}"
                )
            con.execute(
                "create table serving_snapshot.main._snapshot as select "
                "cast(:published_at as timestamp) as published_at, "
                "cast(:run_id as varchar) as run_id",
                {"published_at": now, "run_id": run_id},
            )
        finally:
            con.execute("detach serving_snapshot")
    info = SnapshotInfo(name, now, tuple(tables), run_id)
    pointer = directory / POINTER_FILE
    tmp = directory / f".{POINTER_FILE}.{os.getpid()}.tmp"
    tmp.write_text(
        json.dumps(
            {"file": name, "published_at": now.isoformat(), "tables": tables, "run_id": run_id}
        )
    )
    os.replace(tmp, pointer)
    _gc_duckdb(directory, name, settings.serving_snapshots_kept)
    return info


def _gc_duckdb(directory: Path, current: str, keep: int) -> None:
    snapshots = sorted(p for p in directory.glob(f"{SNAPSHOT_PREFIX}*.duckdb"))
    for old in snapshots[:-keep]:
        if old.name == current:
            continue
        try:
            old.unlink()
            wal = old.with_name(old.name + ".wal")
            if wal.exists():
                wal.unlink()
        except OSError as exc:  # pragma: no cover - best effort
            log.warning("could not remove old serving snapshot %s: %s", old, exc)


def _publish_postgres(settings: Settings, warehouse: Warehouse, run_id: str | None) -> SnapshotInfo:
    now = utc_now()
    schema = f"{PG_SCHEMA_PREFIX}{_stamp(now)}"
    with warehouse.connection() as con:
        with con.transaction():
            tables = [_check_ident(t) for t in con.list_tables("marts")]
            con.execute("create schema if not exists serving")
            con.execute(
                "create table if not exists serving.current (id integer primary key "
                "check (id = 1), schema_name text not null, published_at timestamp not null, "
                "run_id text, tables text not null)"
            )
            con.execute(f"create schema {schema}")
            for table in tables:
                con.execute(f"create table {schema}.{table} as select * from marts.{table}")
                columns = {
                    r[0]
                    for r in con.fetchall(
                        "select column_name from information_schema.columns "
                        "where table_schema = 'marts' and table_name = :t",
                        {"t": table},
                    )
                }
                if "tenant_id" in columns:
                    con.execute(f"create index on {schema}.{table} (tenant_id)")
            con.execute(
                "insert into serving.current (id, schema_name, published_at, run_id, tables) "
                "values (1, :s, :now, :run, :tables) on conflict (id) do update set "
                "schema_name = excluded.schema_name, published_at = excluded.published_at, "
                "run_id = excluded.run_id, tables = excluded.tables",
                {"s": schema, "now": now, "run": run_id, "tables": json.dumps(tables)},
            )
        _gc_postgres(con, schema, settings.serving_snapshots_kept)
    return SnapshotInfo(schema, now, tuple(tables), run_id)


def _gc_postgres(con, current: str, keep: int) -> None:
    schemas = sorted(
        r[0]
        for r in con.fetchall(
            "select schema_name from information_schema.schemata where schema_name like :p",
            {"p": PG_SCHEMA_PREFIX + "%"},
        )
        if r[0].startswith(PG_SCHEMA_PREFIX) and r[0] != "serving"
    )
    for old in schemas[:-keep]:
        if old == current:
            continue
        try:
            with con.transaction():
                # Never wait on a reader still using an old snapshot: try again next time.
                con.execute("set local lock_timeout = '1s'")
                con.execute(f"drop schema {_check_ident(old)} cascade")
        except Exception as exc:  # noqa: BLE001 - best effort, retried on the next publish
            log.info("old serving snapshot %s still in use, kept for now: %s", old, exc)


# ---------------------------------------------------------------------------- reading
class ServingReader:
    """Thread-safe reader of the current serving snapshot.

    ``query`` takes SQL with ``{table}`` placeholders for snapshot tables and ``:name``
    parameters, and returns rows as dicts.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.kind = settings.warehouse_kind
        self._lock = threading.Lock()
        self._duck: tuple[int, str, Any, SnapshotInfo] | None = None
        self._pool = None
        self._pg_pointer: tuple[float, SnapshotInfo] | None = None

    # -- DuckDB
    def _duckdb_current(self) -> tuple[Any, SnapshotInfo]:
        import duckdb

        pointer = self.settings.serving_dir / POINTER_FILE
        try:
            stat = pointer.stat()
        except FileNotFoundError:
            raise NoSnapshot("no serving snapshot has been published yet") from None
        with self._lock:
            if self._duck and self._duck[0] == stat.st_mtime_ns:
                return self._duck[2], self._duck[3]
            doc = json.loads(pointer.read_text())
            path = self.settings.serving_dir / doc["file"]
            con = duckdb.connect(str(path), read_only=True)
            info = SnapshotInfo(
                doc["file"],
                datetime.fromisoformat(doc["published_at"]),
                tuple(doc["tables"]),
                doc.get("run_id"),
            )
            self._duck = (stat.st_mtime_ns, doc["file"], con, info)
            return con, info

    # -- PostgreSQL
    def _pg_pool(self):
        from psycopg_pool import ConnectionPool

        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.settings.postgres_dsn,
                    min_size=1,
                    max_size=10,
                    open=True,
                    kwargs={"autocommit": True},
                )
            return self._pool

    def _pg_current(self, con) -> SnapshotInfo:
        cached = self._pg_pointer
        if cached and time.monotonic() - cached[0] < 1.0:
            return cached[1]
        try:
            row = con.execute(
                "select schema_name, published_at, run_id, tables from serving.current"
            ).fetchone()
        except Exception as exc:  # undefined table: nothing published yet
            if "does not exist" in str(exc):
                raise NoSnapshot("no serving snapshot has been published yet") from None
            raise
        if row is None:
            raise NoSnapshot("no serving snapshot has been published yet")
        info = SnapshotInfo(row[0], row[1], tuple(json.loads(row[3])), row[2])
        self._pg_pointer = (time.monotonic(), info)
        return info

    # -- public
    def snapshot(self) -> SnapshotInfo:
        if self.kind == "duckdb":
            return self._duckdb_current()[1]
        with self._pg_pool().connection() as con:
            return self._pg_current(con)

    def query(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[dict], SnapshotInfo]:
        params = params or {}
        if self.kind == "duckdb":
            base, info = self._duckdb_current()
            text = sql.format_map(_Tables(info, lambda t: t))
            used = set(_PARAM_RE.findall(text))
            cursor = base.cursor()
            try:
                result = cursor.execute(
                    _PARAM_RE.sub(r"$\1", text), {k: v for k, v in params.items() if k in used}
                )
                columns = [d[0] for d in result.description]
                return [dict(zip(columns, row, strict=True)) for row in result.fetchall()], info
            finally:
                cursor.close()
        with self._pg_pool().connection() as con:
            info = self._pg_current(con)
            text = sql.format_map(_Tables(info, lambda t: f"{info.name}.{t}"))
            with con.cursor() as cur:
                cur.execute(_PARAM_RE.sub(r"%(\1)s", text.replace("%", "%%")), params)
                columns = [d[0] for d in cur.description]
                return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()], info

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            self._duck = None


class _Tables(dict):
    def __init__(self, info: SnapshotInfo, qualify):
        super().__init__()
        self.info = info
        self.qualify = qualify

    def __missing__(self, key: str) -> str:
        if key not in self.info.tables:
            raise MissingTable(f"table {key!r} is not in the serving snapshot {self.info.name}")
        return self.qualify(_check_ident(key))


def current_snapshot_name(reader: ServingReader) -> str | None:
    """The name of the snapshot the reader serves now; None before the first publication."""
    try:
        return reader.snapshot().name
    except NoSnapshot:
        return None
