"""Per-subscription overrides (``billing/rules/overrides.py``): how an override merges into a
plan charge, the validation it shares with the pricing engine, and what a plan change keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.rules.overrides import (
    ChargeOverride,
    PlanChargeTerms,
    carried_overrides,
    merge_charge,
    merge_charges,
)
from billing.rules.pricing import Price, PriceModel, PricingError, Tier, calculate

D = Decimal

PER_UNIT = PlanChargeTerms(Price(PriceModel.PER_UNIT, unit_amount=D("0.10"), free_units=D(10)))
GRADUATED = PlanChargeTerms(
    Price(PriceModel.GRADUATED, tiers=(Tier(D(100), D("0.05")), Tier(None, D("0.02")))),
    minimum_amount=D(5),
)
PACKAGE = PlanChargeTerms(Price(PriceModel.PACKAGE, unit_amount=D(3), package_size=D(10)))
PLAN = {"calls": PER_UNIT, "value_sum": GRADUATED, "storage": PACKAGE}


def test_fields_not_overridden_keep_the_plans_value():
    merged = merge_charge(PER_UNIT, ChargeOverride("calls", unit_amount=D("0.05")), "charges[0]")
    assert merged.price == Price(PriceModel.PER_UNIT, unit_amount=D("0.05"), free_units=D(10))
    assert merged.minimum_amount is None
    # 50 calls: (50 - 10) x 0.05 = 2.00 (the plan's price: 4.00)
    assert calculate(merged.price, D(50), "USD").amount == D("2.00")


def test_halved_unit_price_and_more_free_units():
    override = ChargeOverride("calls", unit_amount=D("0.05"), free_units=D(20))
    merged = merge_charge(PER_UNIT, override, "charges[0]")
    # (50 - 20) x 0.05 = 1.50
    assert calculate(merged.price, D(50), "USD").amount == D("1.50")


def test_tiers_replace_all_of_the_plans_tiers_and_the_minimum_is_overridden():
    tiers = (Tier(D(200), D("0.03")), Tier(None, D("0.01")))
    merged = merge_charge(
        GRADUATED, ChargeOverride("value_sum", tiers=tiers, minimum_amount=D(10)), "charges[0]"
    )
    assert merged.price.tiers == tiers and merged.minimum_amount == D(10)
    # 500: 200 x 0.03 + 300 x 0.01 = 9.00
    assert calculate(merged.price, D(500), "USD").amount == D("9.00")
    kept = merge_charge(GRADUATED, ChargeOverride("value_sum", free_units=D(5)), "charges[0]")
    assert kept.price.tiers == GRADUATED.price.tiers and kept.minimum_amount == D(5)


def test_package_price_and_size():
    merged = merge_charge(
        PACKAGE, ChargeOverride("storage", unit_amount=D(2), package_size=D(25)), "charges[2]"
    )
    # 60 units: ceil(60 / 25) = 3 packages x 2 = 6.00
    assert calculate(merged.price, D(60), "USD").amount == D("6.00")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (ChargeOverride("calls", unit_amount=D("-0.01")), "charges[0].unit_amount"),
        (ChargeOverride("calls", free_units=D(-1)), "charges[0].free_units"),
        (ChargeOverride("calls", package_size=D(10)), "charges[0].package_size"),
        (ChargeOverride("calls", tiers=(Tier(None, D(1)),)), "charges[0].tiers"),
        (ChargeOverride("calls", minimum_amount=D(-5)), "charges[0].minimum_amount"),
        (ChargeOverride("calls", unit_amount=D("0.0000000000001")), "charges[0].unit_amount"),
    ],
)
def test_invalid_overrides_name_the_field(override, field):
    with pytest.raises(PricingError) as error:
        merge_charge(PER_UNIT, override, "charges[0]")
    assert error.value.field == field


def test_tiers_out_of_order_are_refused_by_the_pricing_engines_rules():
    tiers = (Tier(D(200), D("0.03")), Tier(D(100), D("0.02")), Tier(None, D("0.01")))
    with pytest.raises(PricingError) as error:
        merge_charges(PLAN, [ChargeOverride("value_sum", tiers=tiers)])
    assert error.value.field == "charges[0].tiers[1].up_to"


def test_a_meter_the_plan_does_not_charge_or_overridden_twice():
    with pytest.raises(PricingError) as error:
        merge_charges(PLAN, [ChargeOverride("calls"), ChargeOverride("users")], "plan 'std'")
    assert error.value.field == "charges[1].meter" and "std" in error.value.message
    with pytest.raises(PricingError) as error:
        merge_charges(PLAN, [ChargeOverride("calls"), ChargeOverride("calls")])
    assert error.value.field == "charges[1].meter"


def test_a_plan_change_keeps_what_still_applies_and_names_what_it_drops():
    new_plan = {
        "calls": PlanChargeTerms(Price(PriceModel.PER_UNIT, unit_amount=D("0.08"))),
        # storage is now tiered: a package override no longer fits its model
        "storage": PlanChargeTerms(Price(PriceModel.VOLUME, tiers=(Tier(None, D(1)),))),
    }
    overrides = [
        ChargeOverride("calls", unit_amount=D("0.05")),
        ChargeOverride("value_sum", free_units=D(10)),
        ChargeOverride("storage", package_size=D(25)),
    ]
    kept, dropped = carried_overrides(new_plan, overrides, has_base_fee_override=True)
    assert [o.meter for o in kept] == ["calls"]
    assert dropped == ["base_fee", "value_sum", "storage"]
    kept, dropped = carried_overrides(new_plan, overrides[:1], has_base_fee_override=False)
    assert (len(kept), dropped) == (1, [])
    # A migration to another version of the same plan keeps the base-fee override.
    kept, dropped = carried_overrides(new_plan, overrides, True, same_plan=True)
    assert ([o.meter for o in kept], dropped) == (["calls"], ["value_sum", "storage"])
