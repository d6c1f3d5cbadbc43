"""What routes share to read the serving snapshot: where clauses from optional filters."""

from __future__ import annotations


def where_clause(*filters: tuple[str, str, str, object]) -> tuple[str, dict]:
    """A where clause from (column, operator, parameter, value) filters; None values skipped."""
    clauses, params = [], {}
    for column, operator, name, value in filters:
        if value is not None:
            clauses.append(f"{column} {operator} :{name}")
            params[name] = value
    return (" where " + " and ".join(clauses)) if clauses else "", params
