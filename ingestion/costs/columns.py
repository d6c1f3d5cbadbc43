"""What every provider's normaliser shares: column look-up by name, the :class:`Format`
record, getters for raw values and the landing fields every row must have.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from ingestion.costs.values import clean


@dataclass
class Columns:
    """Looks source columns up by name (exact first, then case-insensitively)."""

    header: list[str]

    def __post_init__(self) -> None:
        self.exact = {name: i for i, name in enumerate(self.header)}
        self.folded = {name.lower(): i for i, name in reversed(list(enumerate(self.header)))}

    def index(self, *names: str) -> int | None:
        for name in names:
            if name in self.exact:
                return self.exact[name]
            if name.lower() in self.folded:
                return self.folded[name.lower()]
        return None

    def has(self, *names: str) -> bool:
        return all(self.index(n) is not None for n in names)

    def name(self, *names: str) -> str | None:
        """The file's own header of the first of ``names`` it has (GCP: ``a.b`` or ``a_b``)."""
        variants = [v for n in names for v in dict.fromkeys((n, n.replace(".", "_")))]
        index = self.index(*variants)
        return None if index is None else self.header[index]


Normalised = dict[str, Any]


@dataclass
class Format:
    name: str  # focus-1.0 | aws-cur | aws-cur2 | azure-ea | ...
    family: str  # focus | aws | azure | gcp (dbt staging model per family)
    provider: str | None
    normalise: Callable[[Columns], Callable[[list[Any]], Normalised]]
    required: tuple[str, ...]
    # Each required field -> the vendor's columns it is read from (one of them must exist).
    columns: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    label: str = ""  # how the vendor calls the export, for messages


def column_getter(cols: Columns, *names: str) -> Callable[[list[Any]], Any]:
    index = cols.index(*names)
    if index is None:
        return lambda row: None
    return lambda row: row[index]


def text_getter(cols: Columns, *names: str) -> Callable[[list[Any]], str | None]:
    get = column_getter(cols, *names)
    return lambda row: clean(get(row))


def extras_getter(cols: Columns, used: set[int]) -> Callable[[list[Any]], str]:
    rest = [(i, name) for i, name in enumerate(cols.header) if i not in used]

    def extras(row: list[Any]) -> str:
        out = {}
        for i, name in rest:
            value = row[i]
            if isinstance(value, (dict, list)):
                out[name] = value
                continue
            text = clean(value)
            if text is not None:
                out[name] = text
        return json.dumps(out, sort_keys=True, default=str)

    return extras


def used_indexes(cols: Columns, names: list[str]) -> set[int]:
    return {i for n in names if (i := cols.index(n)) is not None}


REQUIRED = (
    "billing_currency",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "billed_cost",
    "effective_cost",
)


def required_columns(
    currency: tuple[str, ...],
    period_start: tuple[str, ...],
    period_end: tuple[str, ...],
    charge_start: tuple[str, ...],
    billed: tuple[str, ...],
    effective: tuple[str, ...],
) -> dict[str, tuple[str, ...]]:
    """Each required landing field -> the vendor's columns it is read from (one must exist)."""
    return dict(
        zip(
            REQUIRED,
            (currency, period_start, period_end, charge_start, billed, effective),
            strict=True,
        )
    )
