"""Reading a cost file (CSV, Parquet, newline-delimited JSON; gzipped or not) into a header
and rows of raw values.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingestion.costs.values import CostFileError

csv.field_size_limit(sys.maxsize)


@dataclass
class Table:
    """A file's header and an iterator of rows (lists of raw values aligned to the header)."""

    container: str  # csv | parquet | jsonl
    header: list[str]
    rows: Callable[[], Iterator[tuple[int, list[Any]]]]  # (where, values)
    unit: str = "line"  # `where` is a line as an editor shows it (header: 1), or a row (Parquet)


def _open_text(path: Path) -> io.TextIOBase:
    """Text of a (possibly gzipped) file, without a UTF-8 byte-order mark (Azure writes one)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - the caller closes it


def _flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("labels", "tags", "resource_tags"):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def read_table(path: Path) -> Table:
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise CostFileError(f"not a readable Parquet file: {exc}") from None
        header = list(parquet.schema_arrow.names)

        def parquet_rows() -> Iterator[tuple[int, list[Any]]]:
            number = 0
            for batch in parquet.iter_batches(batch_size=10_000):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*columns, strict=True):
                    number += 1
                    yield number, list(values)

        return Table("parquet", header, parquet_rows, unit="row")
    if name.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")):
        records: list[tuple[int, dict[str, Any]]] = []
        line_number = 0
        try:
            with _open_text(path) as handle:
                for line_number, line in enumerate(handle, 1):  # noqa: B007 - used on error
                    if not line.strip():
                        continue
                    value = json.loads(line, parse_float=Decimal)
                    if not isinstance(value, dict):
                        raise CostFileError(f"line {line_number}: not a JSON object")
                    records.append((line_number, _flatten(value)))
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, CostFileError):
                raise
            raise CostFileError(f"line {line_number}: not newline-delimited JSON: {exc}") from None
        header: list[str] = []
        seen: set[str] = set()
        for _, record in records:
            for key in record:
                if key not in seen:
                    seen.add(key)
                    header.append(key)
        return Table("jsonl", header, lambda: ((n, [r.get(k) for k in header]) for n, r in records))
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError, csv.Error) as exc:
        raise CostFileError(f"not a readable CSV file: {exc}") from None
    if not header:
        raise CostFileError("the file is empty")

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader)
            while True:
                first_line = reader.line_num + 1  # a quoted field may span several lines
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise CostFileError(f"line {first_line}: not valid CSV: {exc}") from None
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) != len(header):
                    raise CostFileError(
                        f"line {first_line}: {len(values)} fields, the header has {len(header)}"
                    )
                yield first_line, values

    return Table("csv", [h.strip() for h in header], csv_rows)
