"""Cost values as vendors write them: decimals, timestamps and tags, read exactly; the
landing row's columns and the errors of a file that cannot be landed.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import Any

from billing.rules.cost_lines import (  # noqa: F401  (the cost line contract, re-exported)
    _STORAGE_QUANTUM,
    COST_CONTEXT,
    COST_INTEGER_DIGITS,
    COST_PLACES,
    COST_TYPE,
    ROW_COLUMNS,
    ROW_NAMES,
)

NULLS = {"", "NULL", "null", "Null", "None", "NaN", "nan"}


class CostFileError(ValueError):
    """The file cannot be landed; the message says why (and where)."""


class CostValueError(CostFileError):
    """A value of one column cannot be read; :func:`parse_file` adds the line and the column
    as the file names it."""

    def __init__(self, column: str, problem: str):
        self.column, self.problem = column, problem
        super().__init__(f"column {column}: {problem}")


# ---------------------------------------------------------------------------- value parsing
_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y%m%d",
)


def clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in NULLS else text


def parse_time(value: Any, column: str) -> datetime | None:
    """A timestamp as naive UTC; values without a zone are UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = clean(value)
    if text is None:
        return None
    candidate = text
    if candidate.endswith(" UTC"):
        candidate = candidate[:-4]
    if candidate.endswith("Z") or candidate.endswith("z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = None
        for fmt in _TS_FORMATS:
            try:
                parsed = datetime.strptime(candidate, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise CostValueError(column, f"{text!r} is not a timestamp")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Thousands separators only next to a decimal point: "1,234" alone may be a decimal comma.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d*(?:[eE][+-]?\d+)?")


def parse_decimal(value: Any, column: str) -> Decimal | None:
    """A cost, quantity or price as the vendor wrote it, exactly: plain, exponent
    (``6.65679E-09``, ``1.2e+3``), leading ``+``, trailing zeros, thousands separators
    (``1,234.5``). More than :data:`COST_PLACES` decimal places round half-even to that
    scale (the storage scale); more than :data:`COST_INTEGER_DIGITS` integer digits fail."""
    if isinstance(value, bool):
        raise CostValueError(column, f"{value!r} is not a number")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float
    text = clean(value)
    if text is None:
        return None
    if _GROUPED.fullmatch(text):
        candidate = text.replace(",", "")
    elif _NUMBER.fullmatch(text):
        candidate = text
    else:
        raise CostValueError(column, f"{text!r} is not a number")
    try:
        number = to_storage_scale(Decimal(candidate))
    except ArithmeticError:  # an exponent past what any decimal holds
        raise CostValueError(column, f"{text!r} is out of range") from None
    if number.adjusted() >= COST_INTEGER_DIGITS:
        raise CostValueError(
            column,
            f"{text!r} is too large (at most {COST_INTEGER_DIGITS} digits before the point)",
        )
    return number


def to_storage_scale(number: Decimal) -> Decimal:
    """``number`` with at most :data:`COST_PLACES` places (half-even), without trailing zeros."""
    if number == 0:
        return Decimal(0)
    with localcontext(COST_CONTEXT):
        if number.adjusted() >= COST_INTEGER_DIGITS:
            return number  # too large: the caller says so (quantize would need more digits)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -COST_PLACES:
            number = number.quantize(_STORAGE_QUANTUM)
        return number.normalize() if number != 0 else Decimal(0)


def parse_tags(value: Any, column: str) -> dict[str, str]:
    """A JSON object of tags; Azure EA writes it without braces, GCP as [{key, value}]."""
    if isinstance(value, dict):
        return {str(k): _tag_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return _tag_list(value)
    text = clean(value)
    if text is None or text in ("{}", "[]"):
        return {}
    if not text.startswith(("{", "[")):
        text = "{" + text + "}"
    try:
        parsed = json.loads(text)
    except ValueError:
        raise CostValueError(column, f"{clean(value)!r} is not a JSON object of tags") from None
    if isinstance(parsed, list):
        return _tag_list(parsed)
    if not isinstance(parsed, dict):
        raise CostValueError(column, f"{clean(value)!r} is not a JSON object of tags")
    return {str(k): _tag_value(v) for k, v in parsed.items() if v is not None}


def _tag_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _tag_list(items: list) -> dict[str, str]:
    tags = {}
    for item in items:
        if isinstance(item, dict) and "key" in item:
            tags[str(item["key"])] = _tag_value(item.get("value"))
    return tags


def month_start(value: datetime) -> datetime:
    return datetime(value.year, value.month, 1)


def next_month(value: datetime) -> datetime:
    return datetime(value.year + (value.month == 12), value.month % 12 + 1, 1)
