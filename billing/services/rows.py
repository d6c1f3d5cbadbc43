"""What every service does the same way: look a control-plane row up by its primary key or
by a query, or get the ``NotFound`` (404) that names what is missing; delete one; a new
public id."""

from __future__ import annotations

import secrets
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from billing.errors import NotFound

Row = TypeVar("Row")


def get_row(session: Session, model: type[Row], key: object, missing: str) -> Row:
    """The ``model`` row whose primary key is ``key``; ``NotFound(missing)`` if there is none."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(missing)
    return row


def first_row(session: Session, query: Select, missing: str, *, lock: bool = False):
    """The first row ``query`` selects, locked for update with ``lock``; ``NotFound(missing)``
    if it selects none."""
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(missing)
    return row


def delete_row(session: Session, model: type[Row], key: object, missing: str) -> Row:
    """Delete and commit the ``model`` row whose key is ``key`` (``NotFound(missing)`` if there
    is none); the row keeps the values it had (to answer with)."""
    row = get_row(session, model, key, missing)
    session.delete(row)
    session.commit()
    return row


def new_id(prefix: str) -> str:
    """A new public id: ``<prefix>_`` and 20 random hex digits (``sub_…``, ``ctr_…``)."""
    return f"{prefix}_{secrets.token_hex(10)}"
