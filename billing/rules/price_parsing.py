"""A price from API JSON: strings or numbers (a JSON number must survive a double-precision
reading unchanged), unknown keys refused, every error naming its path."""

from __future__ import annotations

import math
import re
from decimal import (
    Decimal,
)
from typing import Any

from billing.rules.pricing import Price, PricingError, Tier, parse_model

_ZERO = Decimal(0)
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MAX_FLOAT_DIGITS = 15  # a JSON number must survive a double-precision reading unchanged

_PRICE_KEYS = frozenset(
    {"model", "unit_amount", "tiers", "package_size", "flat_amount", "free_units"}
)
_TIER_KEYS = frozenset({"up_to", "unit_amount", "flat_amount"})


def price_from_dict(data: dict, field: str = "price") -> Price:
    """Parse and validate a price from API JSON.

    Numbers may be JSON strings (``"0.000000000001"``) or JSON numbers; a JSON number with more
    than 15 significant digits is refused (it did not survive a double-precision reading:
    send it as a string). A tier's ``up_to`` is a number, ``null`` or ``"inf"`` (open-ended).
    ``free_units`` and a tier's ``flat_amount`` default to 0. Unknown keys are refused, so a
    misspelt field cannot be silently ignored. Errors are PricingError naming the field path.
    """
    if not isinstance(data, dict):
        raise PricingError(field, "must be an object")
    _refuse_unknown_keys(data, _PRICE_KEYS, field)
    if data.get("model") is None:
        raise PricingError(f"{field}.model", "is required")
    raw_tiers = data.get("tiers")
    tiers: list[Tier] = []
    if raw_tiers is not None:
        if not isinstance(raw_tiers, list):
            raise PricingError(f"{field}.tiers", "must be a list")
        for i, raw in enumerate(raw_tiers):
            path = f"{field}.tiers[{i}]"
            if not isinstance(raw, dict):
                raise PricingError(path, "must be an object")
            _refuse_unknown_keys(raw, _TIER_KEYS, path)
            up_to = raw.get("up_to")
            tiers.append(
                Tier(
                    up_to=None if up_to in (None, "inf") else _number(up_to, f"{path}.up_to"),
                    unit_amount=_number(raw.get("unit_amount"), f"{path}.unit_amount"),
                    flat_amount=_number(raw.get("flat_amount"), f"{path}.flat_amount") or _ZERO,
                )
            )
    price = Price(
        model=parse_model(data["model"], f"{field}.model"),
        unit_amount=_number(data.get("unit_amount"), f"{field}.unit_amount"),
        tiers=tuple(tiers),
        package_size=_number(data.get("package_size"), f"{field}.package_size"),
        flat_amount=_number(data.get("flat_amount"), f"{field}.flat_amount"),
        free_units=_number(data.get("free_units"), f"{field}.free_units") or _ZERO,
    )
    price.validate(field)
    return price


def _refuse_unknown_keys(data: dict, known: frozenset[str], path: str) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise PricingError(f"{path}.{unknown[0]}", "unknown field")


def _number(value: Any, path: str) -> Decimal | None:
    """A JSON value as a Decimal (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PricingError(path, "must be a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PricingError(path, "must be a finite number")
        number = Decimal(repr(value))
        if len(number.as_tuple().digits) > _MAX_FLOAT_DIGITS:
            raise PricingError(path, "has more than 15 significant digits: send it as a string")
        return number
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        return Decimal(value)
    raise PricingError(path, f"must be a decimal number, not {value!r}")
