"""Parsing a cost file: read, detect and normalise every row to the landing row, failing the
whole file on any bad row with the line and the column in the file's own terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import localcontext
from pathlib import Path
from typing import Any

from ingestion.costs.columns import Columns, Format
from ingestion.costs.detect import detect
from ingestion.costs.readers import Table, read_table
from ingestion.costs.values import COST_CONTEXT, CostFileError, CostValueError


@dataclass
class ParsedFile:
    format: Format
    rows: list[dict[str, Any]]


def parse_file(path: Path) -> ParsedFile:
    """Read, detect and normalise every row; any bad row fails the whole file, with the line
    (as an editor numbers it: the header is line 1) and the column as the file names them."""
    fmt, rows = _normalised_rows(path)
    parsed = ParsedFile(fmt, list(rows))
    if not parsed.rows:
        raise CostFileError("the file has a header but no rows")
    return parsed


def check_file(path: Path) -> tuple[Format, int]:
    """What :func:`parse_file` would say about the file (its format and row count, or the
    :class:`CostFileError`), without holding its rows in memory."""
    fmt, rows = _normalised_rows(path)
    count = sum(1 for _ in rows)
    if not count:
        raise CostFileError("the file has a header but no rows")
    return fmt, count


def _normalised_rows(path: Path) -> tuple[Format, Iterator[dict[str, Any]]]:
    table = read_table(path)
    fmt = detect(table.header)
    return fmt, _normalise_rows(table, fmt)


def _normalise_rows(table: Table, fmt: Format) -> Iterator[dict[str, Any]]:
    cols = Columns(table.header)
    normalise = fmt.normalise(cols)
    for number, (where, values) in enumerate(table.rows(), 1):
        at = f"{table.unit} {where}"
        try:
            with localcontext(COST_CONTEXT):
                row = normalise(values)
        except CostValueError as exc:
            column = cols.name(exc.column) or exc.column
            raise CostFileError(f"{at}, column {column}: {exc.problem}") from None
        except CostFileError as exc:
            raise CostFileError(f"{at}: {exc}") from None
        missing = [c for c in fmt.required if row.get(c) is None]
        if missing:
            named = dict.fromkeys(
                " or ".join(n for o in fmt.columns.get(c, (c,)) if (n := cols.name(o)))
                or " or ".join(fmt.columns.get(c, (c,)))
                for c in missing
            )
            raise CostFileError(f"{at}: no value in column {', '.join(named)}")
        currency = row["billing_currency"]
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            column = cols.name(*fmt.columns["billing_currency"]) or "billing currency"
            raise CostFileError(
                f"{at}, column {column}: {currency!r} is not an ISO 4217 currency code"
            )
        row["billing_currency"] = currency.upper()
        if row["billing_period_end"] <= row["billing_period_start"]:
            raise CostFileError(f"{at}: the billing period ends before it starts")
        if row.get("provider_name") is None:
            row["provider_name"] = fmt.provider
        row["row_number"] = number
        row["source_format"] = fmt.name
        row["tags"] = json.dumps(row["tags"], sort_keys=True)
        yield row
