"""What routes share to read the serving snapshot: where clauses from optional filters, and
response rows from mart rows."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel

from billing.ports import MartReader, NoSnapshot
from billing.rules.pricing import money_text

M = TypeVar("M", bound=BaseModel)


def where_clause(*filters: tuple[str, str, str, object]) -> tuple[str, dict]:
    """A where clause from (column, operator, parameter, value) filters; None values skipped."""
    clauses, params = [], {}
    for column, operator, name, value in filters:
        if value is not None:
            clauses.append(f"{column} {operator} :{name}")
            params[name] = value
    return (" where " + " and ".join(clauses)) if clauses else "", params


def plain_number(value) -> str:
    """A decimal as plain text without trailing zeros (not money: quantities, cloud costs)."""
    return format(Decimal(value).normalize(), "f")


def row_of(model: type[M], row: dict, *money: str, fmt=money_text, **columns: str) -> M:
    """A response row from a mart row: fields named like columns are taken as they are,
    ``columns`` maps the others (field=column), and the ``money`` fields (from ``<field>_amount``
    unless mapped) are formatted in the row's currency."""
    values = {**row, **{field: row[column] for field, column in columns.items()}}
    for field in money:
        values[field] = fmt(row[columns.get(field, f"{field}_amount")], row["currency"])
    return model.model_validate(values)


def read_mart(reader: MartReader, sql: str, *filters, missing=(NoSnapshot,), **equal):
    """(rows, snapshot info) of ``sql``, where ``{where}`` stands for the where clause of the
    filters, (column, operator, parameter, value) tuples and column=value equalities, None
    values skipped; None while nothing (or, with ``missing``, not this mart) is published."""
    where, params = where_clause(*filters, *((c, "=", c, v) for c, v in equal.items()))
    try:
        return reader.query(sql.replace("{where}", where), params)
    except missing:
        return None
