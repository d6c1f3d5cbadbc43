"""The pricing engine in Python (``billing/rules/pricing.py``): Stripe's documented tier examples,
each price model on hand-made cases, every validation error and proration. The dbt macro that
must agree with it is tested in tests/integration/test_pricing_sql.py."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest

from billing.rules.price_parsing import price_from_dict
from billing.rules.pricing import (
    CURRENCIES_CSV,
    Price,
    PriceModel,
    PricingError,
    Tier,
    calculate,
    minor_units,
    round_money,
)
from billing.rules.proration import (
    prorate,
    prorate_at,
    proration_lines,
    remaining_share,
    share_text,
)

D = Decimal

# Stripe's documentation example: 1-5 at 7 USD, 6-10 at 6.50 USD, 11+ at 6 USD.
STRIPE_TIERS = (Tier(D(5), D(7)), Tier(D(10), D("6.5")), Tier(None, D(6)))
# Flat amounts per tier: 10 on entering the first tier, 20 on entering the second.
FLAT_TIERS = (Tier(D(5), D(1), D(10)), Tier(None, D(2), D(20)))


def seed_currencies() -> dict[str, int]:
    """The currencies seed, read here independently of the engine."""
    with CURRENCIES_CSV.open(newline="") as f:
        return {row["currency_code"]: int(row["minor_unit"]) for row in csv.DictReader(f)}


def per_unit(unit: str, free: str = "0") -> Price:
    return Price(PriceModel.PER_UNIT, unit_amount=D(unit), free_units=D(free))


def graduated(tiers=STRIPE_TIERS, free: str = "0") -> Price:
    return Price(PriceModel.GRADUATED, tiers=tiers, free_units=D(free))


def volume(tiers=STRIPE_TIERS, free: str = "0") -> Price:
    return Price(PriceModel.VOLUME, tiers=tiers, free_units=D(free))


def package(unit: str, size: str, free: str = "0") -> Price:
    return Price(PriceModel.PACKAGE, unit_amount=D(unit), package_size=D(size), free_units=D(free))


def flat(amount: str, free: str = "0") -> Price:
    return Price(PriceModel.FLAT, flat_amount=D(amount), free_units=D(free))


# ---------------------------------------------------------------------------------------------
# Python engine


def test_worked_example_graduated_six_units():
    price = price_from_dict(
        {
            "model": "graduated",
            "tiers": [
                {"up_to": 5, "unit_amount": 7, "flat_amount": 0},
                {"up_to": None, "unit_amount": 6.5},
            ],
        }
    )
    result = calculate(price, D("6"), "USD")
    assert str(result.amount) == "41.50"
    assert result.unrounded_amount == D("41.5")
    assert [line.amount for line in result.lines] == [D(35), D("6.5")]
    assert [(line.quantity, line.tier) for line in result.lines] == [(D(5), 1), (D(1), 2)]


# Stripe's figures for those tiers: (quantity, volume total, graduated total) in USD.
STRIPE_EXAMPLES = [
    ("1", "7.00", "7.00"),
    ("5", "35.00", "35.00"),
    ("6", "39.00", "41.50"),
    ("20", "120.00", "127.50"),
    ("25", "150.00", "157.50"),
]


@pytest.mark.parametrize(("quantity", "volume_usd", "graduated_usd"), STRIPE_EXAMPLES)
def test_stripe_documented_tier_examples(quantity, volume_usd, graduated_usd):
    assert str(calculate(volume(), D(quantity), "USD").amount) == volume_usd
    assert str(calculate(graduated(), D(quantity), "USD").amount) == graduated_usd


@dataclass(frozen=True)
class Case:
    """A price rated at some quantities in one currency."""

    price: Price
    quantities: tuple[Decimal, ...]
    currency: str


# (id, price, quantity, currency, expected amount): checked in Python and in SQL on both targets.
HAND_MADE = [
    ("per_unit", per_unit("1.25"), "3", "USD", "3.75"),
    ("per_unit_free_units", per_unit("2", free="4"), "10", "USD", "12.00"),
    ("per_unit_all_free", per_unit("2", free="4"), "3", "USD", "0.00"),
    ("per_unit_fractional", per_unit("0.333"), "2.5", "USD", "0.83"),
    ("half_cent_rounds_up", per_unit("0.125"), "1", "USD", "0.13"),
    ("half_cent_not_float", per_unit("2.675"), "1", "USD", "2.68"),
    ("half_cent_from_quantity", per_unit("0.01"), "0.5", "USD", "0.01"),
    ("just_below_half_cent", per_unit("0.01"), "0.499999999", "USD", "0.00"),
    ("tiny_exact_product", per_unit("0.000000000001"), "0.000000001", "USD", "0.00"),
    ("twelve_places", per_unit("0.000000012345"), "123456.789", "USD", "0.00"),
    ("twelve_places_half", per_unit("0.000000000005"), "1000000000", "USD", "0.01"),
    ("jpy_half_up", per_unit("0.5"), "5", "JPY", "3"),
    ("jpy_below_half", per_unit("0.49"), "1", "JPY", "0"),
    ("kwd_half_up", per_unit("1.2345"), "3", "KWD", "3.704"),
    ("kwd_half_mil", per_unit("0.0005"), "1", "KWD", "0.001"),
    ("kwd_below_half_mil", per_unit("0.0004999"), "1", "KWD", "0.000"),
    ("graduated_first_flat_at_zero", graduated(FLAT_TIERS), "0", "USD", "10.00"),
    ("graduated_flat_first_tier", graduated(FLAT_TIERS), "5", "USD", "15.00"),
    ("graduated_flat_across_boundary", graduated(FLAT_TIERS), "5.5", "USD", "36.00"),
    ("graduated_flat_just_past", graduated(FLAT_TIERS), "5.000000001", "USD", "35.00"),
    ("graduated_fractional_boundary", graduated(), "5.5", "USD", "38.25"),
    ("graduated_on_boundary", graduated(), "10", "USD", "67.50"),
    ("graduated_free_units", graduated(free="2"), "8", "USD", "41.50"),
    ("graduated_zero", graduated(), "0", "USD", "0.00"),
    ("graduated_jpy", graduated(), "5.5", "JPY", "38"),
    ("volume_first_flat_at_zero", volume(FLAT_TIERS), "0", "USD", "10.00"),
    ("volume_flat_first_tier", volume(FLAT_TIERS), "5", "USD", "15.00"),
    ("volume_flat_second_tier", volume(FLAT_TIERS), "5.5", "USD", "31.00"),
    ("volume_on_boundary", volume(), "10", "USD", "65.00"),
    ("volume_just_past_boundary", volume(), "10.000000001", "USD", "60.00"),
    ("volume_free_units", volume(free="5"), "11", "USD", "39.00"),
    ("volume_kwd", volume(), "5.5", "KWD", "35.750"),
    ("package_zero", package("5", "100"), "0", "USD", "0.00"),
    ("package_one_unit", package("5", "100"), "1", "USD", "5.00"),
    ("package_exactly_full", package("5", "100"), "100", "USD", "5.00"),
    ("package_ceil", package("5", "100"), "100.000000001", "USD", "10.00"),
    ("package_ceil_many", package("5", "100"), "250", "USD", "15.00"),
    ("package_free_units", package("5", "100", free="50"), "150", "USD", "5.00"),
    ("package_decimal_size", package("5", "0.1"), "1.1", "JPY", "55"),
    ("package_not_in_floats", package("5", "0.7"), "2.1", "USD", "15.00"),  # floats: 2.1/0.7 > 3
    ("package_fractional_unit", package("0.125", "3"), "7", "USD", "0.38"),
    ("flat_at_zero", flat("49.99"), "0", "USD", "49.99"),
    ("flat_any_quantity", flat("49.99"), "1000", "USD", "49.99"),
    ("flat_free_units", flat("49.99", free="10"), "5", "USD", "49.99"),
    ("flat_kwd", flat("1.0005"), "1", "KWD", "1.001"),
]


@pytest.mark.parametrize(
    ("price", "quantity", "currency", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in HAND_MADE],
)
def test_each_model_on_hand_made_cases(price, quantity, currency, expected):
    result = calculate(price, D(quantity), currency)
    assert str(result.amount) == expected
    assert result.amount == round_money(result.unrounded_amount, currency)
    assert result.unrounded_amount == sum(line.amount for line in result.lines)


def test_lines_per_model():
    lines = calculate(graduated(FLAT_TIERS), D("5.5"), "USD").lines
    assert [(line.tier, line.quantity, line.flat_amount, line.amount) for line in lines] == [
        (1, D(5), D(10), D(15)),
        (2, D("0.5"), D(20), D(21)),
    ]
    # The first tier is always a line, even at 0; later tiers only once entered.
    assert [line.tier for line in calculate(graduated(), D(0), "USD").lines] == [1]
    assert [line.tier for line in calculate(graduated(), D(10), "USD").lines] == [1, 2]
    [line] = calculate(volume(), D(6), "USD").lines
    assert (line.tier, line.quantity, line.unit_amount) == (2, D(6), D("6.5"))
    [line] = calculate(package("5", "100"), D(250), "USD").lines
    assert (line.quantity, line.unit_amount, line.amount) == (D(3), D(5), D(15))
    [line] = calculate(flat("49.99"), D(7), "USD").lines
    assert (line.unit_amount, line.flat_amount, line.amount) == (None, D("49.99"), D("49.99"))


def test_round_money_half_away_from_zero_quantized():
    assert str(round_money(D("41.5"), "USD")) == "41.50"
    assert str(round_money(D("41.5"), "JPY")) == "42"
    assert str(round_money(D("42.5"), "JPY")) == "43"  # not to even
    assert str(round_money(D("-0.005"), "USD")) == "-0.01"
    assert str(round_money(D("-0.004"), "USD")) == "0.00"  # never "-0.00"
    assert str(round_money(D("1.0005"), "KWD")) == "1.001"
    assert str(round_money(D("0.004999999999999999999"), "USD")) == "0.00"


def test_minor_units_come_from_the_seed():
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    seed = seed_currencies()
    two = ["USD", "EUR", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "INR"]
    two += ["BRL", "MXN", "SGD", "HKD", "NZD", "ZAR"]
    expected = dict.fromkeys(two, 2)
    expected |= dict.fromkeys(["JPY", "KRW", "CLP", "ISK"], 0)
    expected |= dict.fromkeys(["KWD", "BHD", "JOD"], 3)
    assert {code: seed.get(code) for code in expected} == expected
    assert all(minor_units(code) == places for code, places in seed.items())


def test_price_from_dict_reads_strings_and_numbers():
    price = price_from_dict(
        {
            "model": "graduated",
            "free_units": "1.5",
            "tiers": [
                {"up_to": "5", "unit_amount": "0.000000000001", "flat_amount": 2.25},
                {"up_to": 10.5, "unit_amount": 6},
                {"up_to": "inf", "unit_amount": "6"},
            ],
        }
    )
    assert price == graduated(
        (
            Tier(D(5), D("0.000000000001"), D("2.25")),
            Tier(D("10.5"), D(6)),
            Tier(None, D(6)),
        ),
        free="1.5",
    )
    assert price_from_dict({"model": "flat", "flat_amount": 0.1}).flat_amount == D("0.1")
    assert price_from_dict(
        {"model": "package", "unit_amount": 5, "package_size": "100"}, "plan.price"
    ) == package("5", "100")


def _tiers(*bounds):
    return tuple(Tier(None if b is None else D(b), D(1)) for b in bounds)


VALIDATION_ERRORS = [
    ("unknown_model", lambda: Price("tiered").validate(), "price.model"),
    ("unknown_model_json", lambda: price_from_dict({"model": "tiered"}), "price.model"),
    ("missing_model_json", lambda: price_from_dict({"unit_amount": 1}), "price.model"),
    ("per_unit_needs_unit", lambda: Price(PriceModel.PER_UNIT).validate(), "price.unit_amount"),
    (
        "package_needs_size",
        lambda: Price(PriceModel.PACKAGE, unit_amount=D(1)).validate(),
        "price.package_size",
    ),
    (
        "package_needs_unit",
        lambda: Price(PriceModel.PACKAGE, package_size=D(1)).validate(),
        "price.unit_amount",
    ),
    ("flat_needs_amount", lambda: Price(PriceModel.FLAT).validate(), "price.flat_amount"),
    ("graduated_needs_tiers", lambda: Price(PriceModel.GRADUATED).validate(), "price.tiers"),
    ("volume_needs_tiers", lambda: Price(PriceModel.VOLUME, tiers=()).validate(), "price.tiers"),
    (
        "unused_field",
        lambda: Price(PriceModel.PER_UNIT, unit_amount=D(1), tiers=_tiers(None)).validate(),
        "price.tiers",
    ),
    ("negative_unit", lambda: per_unit("-1").validate(), "price.unit_amount"),
    ("negative_flat", lambda: flat("-0.01").validate(), "price.flat_amount"),
    ("negative_free_units", lambda: per_unit("1", free="-1").validate(), "price.free_units"),
    (
        "free_units_places",
        lambda: per_unit("1", free="0.0000000001").validate(),
        "price.free_units",
    ),
    ("package_size_zero", lambda: package("1", "0").validate(), "price.package_size"),
    ("package_size_negative", lambda: package("1", "-5").validate(), "price.package_size"),
    ("package_size_places", lambda: package("1", "0.0000000001").validate(), "price.package_size"),
    ("unit_places", lambda: per_unit("0.0000000000001").validate(), "price.unit_amount"),
    (
        "float_unit",
        lambda: Price(PriceModel.PER_UNIT, unit_amount=0.5).validate(),
        "price.unit_amount",
    ),
    ("tiers_equal", lambda: graduated(_tiers(5, 5, None)).validate(), "price.tiers[1].up_to"),
    ("tiers_decreasing", lambda: volume(_tiers(10, 5, None)).validate(), "price.tiers[1].up_to"),
    ("tier_after_open", lambda: graduated(_tiers(None, 10, None)).validate(), "price.tiers[1]"),
    ("last_tier_bounded", lambda: graduated(_tiers(5, 10)).validate(), "price.tiers[1].up_to"),
    ("tier_up_to_zero", lambda: graduated(_tiers(0, None)).validate(), "price.tiers[0].up_to"),
    (
        "tier_up_to_places",
        lambda: graduated(_tiers("0.0000000001", None)).validate(),
        "price.tiers[0].up_to",
    ),
    (
        "tier_unit_negative",
        lambda: volume((Tier(D(5), D(-1)), Tier(None, D(1)))).validate(),
        "price.tiers[0].unit_amount",
    ),
    (
        "tier_unit_places",
        lambda: volume((Tier(None, D("1.0000000000001")),)).validate(),
        "price.tiers[0].unit_amount",
    ),
    (
        "tier_flat_negative",
        lambda: graduated((Tier(D(5), D(1)), Tier(None, D(1), D(-2)))).validate(),
        "price.tiers[1].flat_amount",
    ),
    (
        "json_bad_number",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": "abc"}),
        "price.unit_amount",
    ),
    (
        "json_underscores",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": "1_000"}),
        "price.unit_amount",
    ),
    (
        "json_boolean",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": True}),
        "price.unit_amount",
    ),
    (
        "json_nan",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": "NaN"}),
        "price.unit_amount",
    ),
    (
        "json_float_too_precise",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": 0.1234567890123456}),
        "price.unit_amount",
    ),
    (
        "json_tiers_not_list",
        lambda: price_from_dict({"model": "volume", "tiers": {"up_to": 5}}),
        "price.tiers",
    ),
    (
        "json_tier_bad_up_to",
        lambda: price_from_dict({"model": "volume", "tiers": [{"up_to": "x", "unit_amount": 1}]}),
        "price.tiers[0].up_to",
    ),
    (
        "json_tier_missing_unit",
        lambda: price_from_dict({"model": "volume", "tiers": [{"up_to": None}]}),
        "price.tiers[0].unit_amount",
    ),
    (
        "json_tier_unknown_key",
        lambda: price_from_dict({"model": "volume", "tiers": [{"upto": 5, "unit_amount": 1}]}),
        "price.tiers[0].upto",
    ),
    (
        "json_unknown_key",
        lambda: price_from_dict({"model": "per_unit", "unit_ammount": 1}),
        "price.unit_ammount",
    ),
    (
        "json_field_prefix",
        lambda: price_from_dict({"model": "per_unit", "unit_amount": -1}, "plan.prices[2]"),
        "plan.prices[2].unit_amount",
    ),
    ("json_not_object", lambda: price_from_dict(["per_unit"]), "price"),
    ("quantity_negative", lambda: calculate(per_unit("1"), D("-1"), "USD"), "quantity"),
    ("quantity_places", lambda: calculate(per_unit("1"), D("0.0000000001"), "USD"), "quantity"),
    ("quantity_float", lambda: calculate(per_unit("1"), 1.5, "USD"), "quantity"),
    ("currency_unknown", lambda: calculate(per_unit("1"), D(1), "XXX"), "currency"),
    ("currency_lower_case", lambda: round_money(D(1), "usd"), "currency"),
    (
        "calculate_validates_price",
        lambda: calculate(per_unit("-1"), D(1), "USD"),
        "price.unit_amount",
    ),
    (
        "change_day_before_period",
        lambda: prorate(D(1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 3, 1), "USD"),
        "change_day",
    ),
    (
        "change_day_on_period_end",
        lambda: prorate(D(1), date(2026, 3, 1), date(2026, 2, 1), date(2026, 3, 1), "USD"),
        "change_day",
    ),
    (
        "empty_period",
        lambda: prorate(D(1), date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 1), "USD"),
        "period_end",
    ),
    (
        "proration_negative_old",
        lambda: proration_lines(
            D(-1), D(1), date(2026, 2, 1), date(2026, 2, 1), date(2026, 3, 1), "USD"
        ),
        "old_amount",
    ),
]


@pytest.mark.parametrize(
    ("make", "field"), [pytest.param(*case[1:], id=case[0]) for case in VALIDATION_ERRORS]
)
def test_every_validation_error_names_its_field(make, field):
    with pytest.raises(PricingError) as raised:
        make()
    assert raised.value.field == field
    assert str(raised.value) == f"{field}: {raised.value.message}"
    assert raised.value.message


def test_limits_are_inclusive():
    # 12 places on amounts and 9 on quantities are allowed; trailing zeros do not count.
    result = calculate(per_unit("0.000000000001", free="0.000000001"), D("1.0000000010000"), "USD")
    assert result.unrounded_amount == D("0.000000000001")
    assert graduated(_tiers("0.000000001", None)).validate() is None
    assert per_unit("1.5000000000000000").validate() is None


# Billing periods, end exclusive: 28, 30 and 31 days.
FEB = (date(2026, 2, 1), date(2026, 3, 1))
APR = (date(2026, 4, 1), date(2026, 5, 1))
JAN = (date(2026, 1, 1), date(2026, 2, 1))


@pytest.mark.parametrize(
    ("amount", "change_day", "period", "currency", "expected"),
    [
        # 28 days: first day = all of it, last day = 1/28, the 15th = 14/28
        ("100", date(2026, 2, 1), FEB, "USD", "100.00"),
        ("100", date(2026, 2, 28), FEB, "USD", "3.57"),
        ("100", date(2026, 2, 15), FEB, "USD", "50.00"),
        ("0.31", date(2026, 2, 15), FEB, "USD", "0.16"),  # 0.155: half-up
        # 30 days
        ("100", date(2026, 4, 1), APR, "USD", "100.00"),
        ("100", date(2026, 4, 30), APR, "USD", "3.33"),
        ("100", date(2026, 4, 16), APR, "USD", "50.00"),
        # 31 days
        ("100", date(2026, 1, 1), JAN, "USD", "100.00"),
        ("100", date(2026, 1, 31), JAN, "USD", "3.23"),
        ("100", date(2026, 1, 16), JAN, "USD", "51.61"),
        ("1000", date(2026, 1, 31), JAN, "JPY", "32"),
        ("1", date(2026, 1, 31), JAN, "KWD", "0.032"),
    ],
)
def test_prorate(amount, change_day, period, currency, expected):
    assert str(prorate(D(amount), change_day, *period, currency)) == expected


def test_proration_lines_round_each_line_on_its_own():
    assert proration_lines(D(30), D(60), date(2026, 4, 16), *APR, "USD") == (D(-15), D(30))
    # 10/31 = 0.3226 and 20/31 = 0.6452: the lines round to -0.32 and 0.65 (net 0.33), not to
    # the rounded net 10/31 = 0.32.
    credit, charge = proration_lines(D(10), D(20), date(2026, 1, 31), *JAN, "USD")
    assert (str(credit), str(charge)) == ("-0.32", "0.65")
    credit, charge = proration_lines(D(0), D(28), date(2026, 2, 1), *FEB, "USD")
    assert (str(credit), str(charge)) == ("0.00", "28.00")


def test_prorate_at_by_days_or_by_seconds():
    sep = (date(2026, 9, 1), date(2026, 10, 1))  # 30 days = 2,592,000 s
    at = datetime(2026, 9, 16, 9, 0)
    # by days: the change day counts as remaining, 15/30
    assert str(prorate_at(D(30), at, *sep, "USD")) == "15.00"
    assert share_text(at, *sep) == "15/30 days"
    # by seconds: 14 days 15 h = 1,263,600 s; 30 x 0.4875 = 14.625, half up -> 14.63
    assert remaining_share(at, *sep, "second") == (1263600, 2592000)
    assert str(prorate_at(D(30), at, *sep, "USD", "second")) == "14.63"
    assert share_text(at, *sep, "second") == "1263600/2592000 s"
    # the second of the change counts as remaining; its fraction is cut
    last = datetime(2026, 9, 30, 23, 59, 59, 999999)
    assert remaining_share(last, *sep, "second") == (1, 2592000)
    assert str(prorate_at(D(2592000), last, *sep, "USD", "second")) == "1.00"
    # the first instant of the period is the whole fee, in both units
    start = datetime(2026, 9, 1)
    assert prorate_at(D(30), start, *sep, "USD", "second") == prorate_at(D(30), start, *sep, "USD")
    for bad, field in (
        (lambda: prorate_at(D(1), at, *sep, "USD", "hour"), "unit"),
        (lambda: prorate_at(D(1), datetime(2026, 10, 1), *sep, "USD", "second"), "change_day"),
        (lambda: prorate_at(D(1), date(2026, 9, 2), *sep, "USD"), "at"),
    ):
        with pytest.raises(PricingError) as error:
            bad()
        assert error.value.field == field
