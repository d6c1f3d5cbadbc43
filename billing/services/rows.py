"""Lookups every service makes the same way: a control-plane row by its primary key, or the
``NotFound`` (404) that names what is missing; a new public id."""

from __future__ import annotations

import secrets
from typing import TypeVar

from sqlalchemy.orm import Session

from billing.errors import NotFound

Row = TypeVar("Row")


def get_row(session: Session, model: type[Row], key: object, missing: str) -> Row:
    """The ``model`` row whose primary key is ``key``; ``NotFound(missing)`` if there is none."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(missing)
    return row


def new_id(prefix: str) -> str:
    """A new public id: ``<prefix>_`` and 20 random hex digits (``sub_…``, ``ctr_…``)."""
    return f"{prefix}_{secrets.token_hex(10)}"
