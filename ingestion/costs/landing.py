"""Land cloud cost files from the cost-files directory into the warehouse.

A file is identified by the SHA-256 of its content (``file_id``). Landing a file writes, in
**one warehouse transaction**, its rows (``raw.cost_file_rows``, replacing any earlier copy of
the same file, so a re-delivered file never duplicates) and its status row (``raw.cost_files``:
format, billing period, row count, totals, error). A file that cannot be parsed lands no rows
and gets status ``failed`` with the reason.

**Corrections.** Each landed file covers a set of keys (format family, billing account,
billing period). A later file covering a key supersedes the earlier files for that key: dbt
keeps, per key, only the rows of the newest file (``landed_seq``). A file whose every key is
covered by later files gets status ``superseded`` and ``superseded_by`` (the newest of them).
A re-delivered file keeps its original landing order, so re-sending an old export never undoes
a correction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

from adapters.warehouse.connection import Warehouse, WarehouseConnection
from billing.rules.events import utc_now
from billing.settings import Settings
from ingestion.costs.formats import (
    COST_CONTEXT,
    COST_PLACES,
    COST_TYPE,
    ROW_COLUMNS,
    ROW_NAMES,
    CostFileError,
    parse_file,
)

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz", ".parquet", ".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz")


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_cost_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and not name.startswith(".") and name.endswith(SUFFIXES)


def list_cost_files(directory: Path) -> list[Path]:
    """Cost files in ``directory`` (uploads in progress are hidden dot-files), by name."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if is_cost_file(p)), key=lambda p: p.name)


@dataclass
class LandedFile:
    file_id: str
    file_name: str
    status: str  # landed | superseded | failed
    source_format: str | None
    row_count: int
    error: str | None = None
    replaced: bool = False  # the same content had been landed before


def _coverage(rows: list[dict], family: str) -> list[str]:
    keys = {
        f"{family}|{r['billing_account_id'] or ''}|{r['billing_period_start']:%Y-%m-%d}"
        for r in rows
    }
    return sorted(keys)


def _exact_sum(values) -> Decimal:
    """A sum of costs without the default context's 28-digit rounding."""
    with localcontext(COST_CONTEXT):
        return sum(values, Decimal(0))


def widen_cost_columns(con: WarehouseConnection) -> None:
    """Warehouses created before costs were kept at :data:`COST_PLACES` decimals (12 then):
    widen their cost columns in place, so nothing new is rounded to the old scale."""
    wanted = {name for name, duck, _ in ROW_COLUMNS if duck == COST_TYPE[0]}
    tables = {"cost_file_rows": wanted, "cost_files": {"billed_cost_total", "effective_cost_total"}}
    cost_type = COST_TYPE[0] if con.kind == "duckdb" else COST_TYPE[1]
    for table, columns in tables.items():
        narrow = con.fetchall(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = :table and numeric_scale < :places",
            {"table": table, "places": COST_PLACES},
        )
        for (column,) in narrow:
            if column in columns:
                con.execute(f"alter table raw.{table} alter column {column} type {cost_type}")


class CostFileLander:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.warehouse = Warehouse(settings)

    @property
    def directory(self) -> Path:
        return self.settings.cost_files_path

    def landed_ids(self) -> set[str]:
        with self.warehouse.connection() as con:
            if not con.table_exists("raw", "cost_files"):
                return set()
            return {r[0] for r in con.fetchall("select file_id from raw.cost_files")}

    def land_pending(self, names: list[str] | None = None) -> list[LandedFile]:
        """Land the files of the directory not landed yet (or only ``names``, landed again
        even if known: a re-delivery replaces that file's rows)."""
        self.warehouse.ensure_schema()
        if names:
            paths = []
            for name in names:
                path = self.directory / Path(name).name
                if is_cost_file(path):
                    paths.append(path)
                else:
                    log.warning("cost file %s is not in %s", name, self.directory)
            known: set[str] = set()
        else:
            paths = list_cost_files(self.directory)
            known = self.landed_ids()
        results, seen = [], set()
        for path in paths:
            digest = file_hash(path)
            if digest in known or digest in seen:
                continue
            seen.add(digest)
            results.append(self.land_file(path, digest))
        return results

    def land_file(self, path: Path, digest: str | None = None) -> LandedFile:
        """Parse and land one file (its rows and status in one transaction)."""
        digest = digest or file_hash(path)
        error: str | None = None
        parsed = None
        try:
            parsed = parse_file(path)
        except CostFileError as exc:
            error = str(exc)
        except Exception as exc:  # an unreadable file must not stop the others
            error = f"unreadable file: {type(exc).__name__}: {exc}"
        self.warehouse.ensure_schema()
        now = utc_now()
        with self.warehouse.connection() as con, con.transaction():
            if con.kind == "postgres":
                con.execute("select pg_advisory_xact_lock(7243006)")
            widen_cost_columns(con)
            previous = con.fetchone(
                "select landed_seq, first_landed_at from raw.cost_files where file_id = :id",
                {"id": digest},
            )
            if previous is not None:
                seq, first_landed_at = previous
            else:
                top = con.fetchone("select coalesce(max(landed_seq), 0) from raw.cost_files")
                seq, first_landed_at = int(top[0]) + 1, now
            con.execute("delete from raw.cost_file_rows where file_id = :id", {"id": digest})
            con.execute("delete from raw.cost_files where file_id = :id", {"id": digest})
            record = {
                "id": digest,
                "name": path.name,
                "status": "failed",
                "rows": 0,
                "error": error,
                "seq": seq,
                "first": first_landed_at,
                "now": now,
                "format": None,
                "provider": None,
                "start": None,
                "end": None,
                "currencies": None,
                "billed": None,
                "effective": None,
                "coverage": None,
            }
            if parsed is not None:
                rows = parsed.rows
                self._insert_rows(con, digest, rows)
                providers = sorted({r["provider_name"] for r in rows if r["provider_name"]})
                record.update(
                    status="landed",
                    rows=len(rows),
                    format=parsed.format.name,
                    provider=", ".join(providers) or parsed.format.provider,
                    start=min(r["billing_period_start"] for r in rows),
                    end=max(r["billing_period_end"] for r in rows),
                    currencies=", ".join(sorted({r["billing_currency"] for r in rows})),
                    billed=_exact_sum(r["billed_cost"] for r in rows),
                    effective=_exact_sum(r["effective_cost"] for r in rows),
                    coverage=json.dumps(_coverage(rows, parsed.format.family)),
                )
            con.execute(
                "insert into raw.cost_files (file_id, file_name, source_format, provider_name, "
                "status, row_count, error, billing_period_start, billing_period_end, "
                "billing_currencies, billed_cost_total, effective_cost_total, coverage, "
                "landed_seq, first_landed_at, landed_at, superseded_by) values (:id, :name, "
                ":format, :provider, :status, :rows, :error, :start, :end, :currencies, "
                ":billed, :effective, :coverage, :seq, :first, :now, null)",
                record,
            )
            self._update_supersession(con)
            status = con.fetchone(
                "select status from raw.cost_files where file_id = :id", {"id": digest}
            )[0]
        result = LandedFile(
            digest,
            path.name,
            status,
            record["format"],
            record["rows"],
            error,
            replaced=previous is not None,
        )
        log.info("cost file %s (%s): %s, %s rows", path.name, digest[:12], status, record["rows"])
        return result

    @staticmethod
    def _insert_rows(con: WarehouseConnection, digest: str, rows: list[dict]) -> None:
        data = {name: [] for name in ROW_NAMES}
        for row in rows:
            row["file_id"] = digest
            for name in ROW_NAMES:
                data[name].append(row.get(name))
        # Decimals go through text so neither Arrow nor the driver rounds them.
        columns = [
            (name, "varchar", "text") if duck.startswith("decimal") else (name, duck, pg)
            for name, duck, pg in ROW_COLUMNS
        ]
        for name, duck, _ in ROW_COLUMNS:
            if duck.startswith("decimal"):
                data[name] = [None if v is None else format(v, "f") for v in data[name]]
        con.load_temp_table("cost_rows_batch", columns, data)
        casts = ", ".join(
            f"cast({name} as {duck if con.kind == 'duckdb' else pg})"
            for name, duck, pg in ROW_COLUMNS
        )
        con.execute(
            f"insert into raw.cost_file_rows ({', '.join(ROW_NAMES)}) "
            f"select {casts} from cost_rows_batch"
        )

    @staticmethod
    def _update_supersession(con: WarehouseConnection) -> None:
        files = con.fetchall(
            "select file_id, landed_seq, coverage, status, superseded_by from raw.cost_files "
            "where status in ('landed', 'superseded') order by landed_seq"
        )
        for index, (file_id, _seq, coverage, status, superseded_by) in enumerate(files):
            keys = set(json.loads(coverage) if isinstance(coverage, str) else coverage or [])
            later_keys: set[str] = set()
            newest = None
            for other in files[index + 1 :]:
                other_keys = set(
                    json.loads(other[2]) if isinstance(other[2], str) else other[2] or []
                )
                if keys & other_keys:
                    later_keys |= other_keys
                    newest = other[0]
            new_status = "superseded" if keys and keys <= later_keys else "landed"
            if (new_status, newest) != (status, superseded_by):
                con.execute(
                    "update raw.cost_files set status = :status, superseded_by = :by "
                    "where file_id = :id",
                    {"status": new_status, "by": newest, "id": file_id},
                )
