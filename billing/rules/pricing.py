"""The pricing engine: what a quantity of usage costs under a price, in exact decimals.

Five price models, with Stripe's documented tier semantics (quantities may be fractional):

* ``per_unit``: every billable unit at ``unit_amount``.
* ``graduated``: tiers ordered by ``up_to`` (the last one open-ended, ``up_to`` None). Tier *i*
  covers the quantities in (previous ``up_to``, ``up_to``]; the billable units falling in each
  tier are priced at that tier's ``unit_amount``, and a tier's ``flat_amount`` is charged once
  the quantity enters the tier (exceeds the previous ``up_to``). The first tier is always
  entered, so its flat amount is charged even at quantity 0.
* ``volume``: every billable unit at the ``unit_amount`` of the tier the total falls in (the
  first tier whose ``up_to`` >= the total, else the open-ended last one), plus that tier's
  ``flat_amount`` (the first tier's at quantity 0).
* ``package``: ``ceil(billable / package_size)`` packages at ``unit_amount`` each.
* ``flat``: ``flat_amount`` per period, whatever the quantity.

``free_units`` come off first for every model: billable = max(0, quantity - free_units).

Money is exact until the very end: line amounts are never rounded, and the total is rounded
once, half-up (half away from zero) to the currency's minor unit, which comes from the dbt seed
``dbt_project/seeds/currencies.csv`` (one list for Python and SQL). Quantities, tier bounds,
free units and package sizes have at most 9 decimal places (``numeric(38, 9)``), unit and flat
amounts at most 12 (``numeric(38, 12)``), so every product has at most 21 and the arithmetic
below is exact (a context that traps ``Inexact`` guarantees it). The same rules are written in
SQL as the dbt macro ``rate_quantities`` (``dbt_project/macros/pricing.sql``);
``tests/integration/test_pricing_sql.py`` proves the two agree on DuckDB and PostgreSQL.

This module is plain Python: no Dagster, no FastAPI.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from functools import cache
from pathlib import Path

CURRENCIES_CSV = Path(__file__).parents[2] / "dbt_project/seeds/currencies.csv"

AMOUNT_PLACES = 12  # unit and flat amounts: numeric(38, 12)
QUANTITY_PLACES = 9  # quantities, tier bounds, free units, package sizes: numeric(38, 9)

# Exact arithmetic: any operation that would have to round raises instead.
EXACT = Context(
    prec=120,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
# Rounding to the minor unit, the one place where digits are meant to go.
_ROUNDING = Context(prec=120, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])

_ZERO = Decimal(0)


class PriceModel(StrEnum):
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"
    FLAT = "flat"


class PricingError(ValueError):
    """An invalid price, quantity, currency or period; ``field`` is the path of the culprit
    (``price.tiers[1].up_to``, ``quantity``, ``currency``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Which optional Price fields each model needs; the others must be left unset.
_NEEDS: dict[PriceModel, frozenset[str]] = {
    PriceModel.PER_UNIT: frozenset({"unit_amount"}),
    PriceModel.GRADUATED: frozenset({"tiers"}),
    PriceModel.VOLUME: frozenset({"tiers"}),
    PriceModel.PACKAGE: frozenset({"unit_amount", "package_size"}),
    PriceModel.FLAT: frozenset({"flat_amount"}),
}


@dataclass(frozen=True)
class Tier:
    """One tier of a graduated or volume price: quantities up to ``up_to`` (inclusive; None =
    no upper bound) at ``unit_amount`` each, plus ``flat_amount`` once the tier is reached."""

    up_to: Decimal | None
    unit_amount: Decimal
    flat_amount: Decimal = _ZERO

    def __post_init__(self) -> None:
        _coerce_ints(self, ("up_to", "unit_amount", "flat_amount"))


@dataclass(frozen=True)
class Price:
    """A price: the model and the fields it needs (see the module docstring).

    ``unit_amount`` is used by per_unit and package, ``tiers`` by graduated and volume,
    ``package_size`` by package, ``flat_amount`` by flat; fields a model does not use must be
    left unset. ``free_units`` applies to every model. Integers are accepted and become
    decimals; floats are refused by ``validate``.
    """

    model: PriceModel
    unit_amount: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    package_size: Decimal | None = None
    flat_amount: Decimal | None = None
    free_units: Decimal = _ZERO

    def __post_init__(self) -> None:
        _coerce_ints(self, ("unit_amount", "package_size", "flat_amount", "free_units"))
        if isinstance(self.tiers, list):
            object.__setattr__(self, "tiers", tuple(self.tiers))

    def validate(self, field: str = "price") -> None:
        """Raise PricingError naming the offending field (``<field>.tiers[1].up_to``).

        Rules: a known model; the fields the model needs present and the others unset; amounts
        not negative with at most 12 decimal places; ``free_units`` not negative and
        ``package_size`` positive, both with at most 9 decimal places; for graduated and volume
        at least one tier, ``up_to`` positive (at most 9 places) and strictly increasing, and
        only the last tier open-ended (it must be).
        """
        model = parse_model(self.model, f"{field}.model")
        needs = _NEEDS[model]
        present = {
            "unit_amount": self.unit_amount is not None,
            "tiers": bool(self.tiers),
            "package_size": self.package_size is not None,
            "flat_amount": self.flat_amount is not None,
        }
        for name, is_set in present.items():
            if name in needs and not is_set:
                what = "at least one tier" if name == "tiers" else "a value"
                raise PricingError(f"{field}.{name}", f"{model} prices need {what}")
            if is_set and name not in needs:
                raise PricingError(f"{field}.{name}", f"is not used by {model} prices")
        if self.unit_amount is not None:
            _check_amount(self.unit_amount, f"{field}.unit_amount")
        if self.flat_amount is not None:
            _check_amount(self.flat_amount, f"{field}.flat_amount")
        if self.package_size is not None:
            _check_quantity(self.package_size, f"{field}.package_size", positive=True)
        _check_quantity(self.free_units, f"{field}.free_units")
        if needs == {"tiers"}:
            _check_tiers(self.tiers, f"{field}.tiers")


@dataclass(frozen=True)
class PriceLine:
    """One line of a calculation: ``quantity`` units (packages for package prices, the
    billable quantity for flat prices) at ``unit_amount``, plus ``flat_amount``. ``amount`` is
    exact, never rounded. ``tier`` is the 1-based tier number for tiered prices."""

    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    flat_amount: Decimal
    amount: Decimal
    tier: int | None


@dataclass(frozen=True)
class PriceResult:
    """``amount`` = the exact sum of the lines, rounded once to the currency's minor unit."""

    currency: str
    amount: Decimal
    unrounded_amount: Decimal
    lines: tuple[PriceLine, ...]


# ---------------------------------------------------------------------------------------------
# currencies and rounding


@cache
def _currencies() -> Mapping[str, int]:
    with CURRENCIES_CSV.open(newline="", encoding="utf-8") as f:
        return {row["currency_code"]: int(row["minor_unit"]) for row in csv.DictReader(f)}


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3), from the currencies
    seed. Codes are upper-case ISO 4217; anything else raises PricingError("currency")."""
    places = _currencies().get(currency) if isinstance(currency, str) else None
    if places is None:
        raise PricingError(
            "currency", f"unknown currency {currency!r} (not in dbt_project/seeds/currencies.csv)"
        )
    return places


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up (half away from zero) to the currency's minor unit, quantized:
    ``41.5`` USD -> ``41.50``, ``41.5`` JPY -> ``42``, ``-0.005`` USD -> ``-0.01``."""
    places = minor_units(currency)
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise PricingError("amount", "must be a finite Decimal")
    rounded = amount.quantize(Decimal(1).scaleb(-places), context=_ROUNDING)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00"


def money_text(amount, currency: str, *, unknown_currency_as_is: bool = False) -> str:
    """An amount as the API shows money: rounded half-up to the currency's minor unit, as text
    (``41.5`` USD -> ``"41.50"``). With ``unknown_currency_as_is``, an amount in a currency
    the engine does not know (a cloud bill's) is shown unrounded instead of failing."""
    try:
        return str(round_money(Decimal(amount), currency))
    except PricingError:
        if not unknown_currency_as_is:
            raise
        return format(Decimal(amount), "f")


# ---------------------------------------------------------------------------------------------
# calculation


def calculate(price: Price, quantity: Decimal, currency: str) -> PriceResult:
    """What ``quantity`` costs under ``price`` in ``currency``: the exact lines and their sum
    rounded once to the minor unit. Validates the price (``price.*``), the quantity (not
    negative, at most 9 decimal places) and the currency."""
    price.validate()
    _check_quantity(quantity, "quantity")
    quantity = Decimal(quantity)
    minor_units(currency)
    with localcontext(EXACT):
        billable = max(quantity - price.free_units, _ZERO)
        lines = tuple(_LINES[PriceModel(price.model)](price, billable))
        unrounded = sum((line.amount for line in lines), _ZERO)
    return PriceResult(currency, round_money(unrounded, currency), unrounded, lines)


def _per_unit_lines(price: Price, billable: Decimal) -> list[PriceLine]:
    assert price.unit_amount is not None
    return [
        PriceLine(
            f"{_text(billable)} units at {_text(price.unit_amount)}",
            billable,
            price.unit_amount,
            _ZERO,
            billable * price.unit_amount,
            None,
        )
    ]


def _graduated_lines(price: Price, billable: Decimal) -> list[PriceLine]:
    lines = []
    lower = _ZERO
    for number, tier in enumerate(price.tiers, start=1):
        if number > 1 and billable <= lower:
            break  # not entered: the quantity does not exceed the previous up_to
        upper = billable if tier.up_to is None else min(billable, tier.up_to)
        units = upper - lower
        bound = (
            f"above {_text(lower)}"
            if tier.up_to is None
            else f"{_text(lower)} to {_text(tier.up_to)}"
        )
        lines.append(
            PriceLine(
                f"Tier {number} ({bound}): {_text(units)} units at "
                f"{_text(tier.unit_amount)}" + _flat_text(tier.flat_amount),
                units,
                tier.unit_amount,
                tier.flat_amount,
                units * tier.unit_amount + tier.flat_amount,
                number,
            )
        )
        if tier.up_to is None:
            break
        lower = tier.up_to
    return lines


def _volume_lines(price: Price, billable: Decimal) -> list[PriceLine]:
    number, tier = next(
        (n, t) for n, t in enumerate(price.tiers, start=1) if t.up_to is None or billable <= t.up_to
    )
    return [
        PriceLine(
            f"Volume tier {number}: {_text(billable)} units at {_text(tier.unit_amount)}"
            + _flat_text(tier.flat_amount),
            billable,
            tier.unit_amount,
            tier.flat_amount,
            billable * tier.unit_amount + tier.flat_amount,
            number,
        )
    ]


def _package_lines(price: Price, billable: Decimal) -> list[PriceLine]:
    assert price.unit_amount is not None and price.package_size is not None
    # ceil(billable / package_size) without an inexact division
    packages = billable // price.package_size + (1 if billable % price.package_size else 0)
    return [
        PriceLine(
            f"{_text(packages)} packages of {_text(price.package_size)} at "
            f"{_text(price.unit_amount)}",
            packages,
            price.unit_amount,
            _ZERO,
            packages * price.unit_amount,
            None,
        )
    ]


def _flat_lines(price: Price, billable: Decimal) -> list[PriceLine]:
    assert price.flat_amount is not None
    return [PriceLine("Flat fee", billable, None, price.flat_amount, price.flat_amount, None)]


_LINES: dict[PriceModel, Callable[[Price, Decimal], list[PriceLine]]] = {
    PriceModel.PER_UNIT: _per_unit_lines,
    PriceModel.GRADUATED: _graduated_lines,
    PriceModel.VOLUME: _volume_lines,
    PriceModel.PACKAGE: _package_lines,
    PriceModel.FLAT: _flat_lines,
}


# ---------------------------------------------------------------------------------------------
# validation helpers


def _check_tiers(tiers: tuple[Tier, ...], path: str) -> None:
    previous: Decimal | None = _ZERO
    for i, tier in enumerate(tiers):
        at = f"{path}[{i}]"
        if not isinstance(tier, Tier):
            raise PricingError(at, "must be a Tier")
        if previous is None:
            raise PricingError(at, "comes after the open-ended tier (up_to null)")
        if tier.unit_amount is None:
            raise PricingError(f"{at}.unit_amount", "is required")
        _check_amount(tier.unit_amount, f"{at}.unit_amount")
        _check_amount(tier.flat_amount, f"{at}.flat_amount")
        if tier.up_to is not None:
            _check_quantity(tier.up_to, f"{at}.up_to", positive=True)
            if tier.up_to <= previous:
                raise PricingError(
                    f"{at}.up_to",
                    f"must be greater than the previous tier's up_to ({_text(previous)})",
                )
        previous = tier.up_to
    if previous is not None:
        raise PricingError(
            f"{path}[{len(tiers) - 1}].up_to", "the last tier must be open-ended (up_to null)"
        )


def parse_model(value: object, path: str) -> PriceModel:
    try:
        return PriceModel(value)
    except (ValueError, TypeError):
        raise PricingError(
            path,
            f"unknown price model {value!r}; expected one of "
            + ", ".join(m.value for m in PriceModel),
        ) from None


def _check_amount(value: object, path: str) -> None:
    _check_decimal(value, path, AMOUNT_PLACES)


def check_money_amount(value: object, path: str) -> None:
    """Raise PricingError(path) unless ``value`` is a price amount: a Decimal, not negative, at
    most 12 decimal places (the rule every unit and flat amount follows)."""
    _check_amount(value, path)


def _check_quantity(value: object, path: str, positive: bool = False) -> None:
    _check_decimal(value, path, QUANTITY_PLACES)
    if positive and value == 0:
        raise PricingError(path, "must be greater than 0")


def _check_decimal(value: object, path: str, places: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise PricingError(path, f"must be a Decimal, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise PricingError(path, "must be a finite number")
    if number < 0:
        raise PricingError(path, "must not be negative")
    if _decimal_places(number) > places:
        raise PricingError(path, f"must have at most {places} decimal places")
    # Stored as numeric(38, places): the integer part has at most 38 - places digits.
    if number >= Decimal(10) ** (38 - places):
        raise PricingError(path, f"must be below 10^{38 - places}")


def _decimal_places(value: Decimal) -> int:
    """Decimal places of the value, ignoring trailing zeros (``1.500`` has 1)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0 or not any(digits):
        return 0
    places = -exponent
    for digit in reversed(digits):
        if digit or not places:
            break
        places -= 1
    return places


def _coerce_ints(instance: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(instance, name)
        if isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(instance, name, Decimal(value))


def _text(value: Decimal) -> str:
    return format(value.normalize(EXACT) if value else _ZERO, "f")


def _flat_text(flat_amount: Decimal) -> str:
    return f" + {_text(flat_amount)} flat" if flat_amount else ""
