"""Per-subscription overrides of a plan's prices: how an override merges into a plan charge,
and which overrides survive a plan change.

An override mirrors a plan charge's fields: the fields it sets (``unit_amount``,
``package_size``, ``flat_amount``, ``tiers``, ``free_units``, ``minimum_amount``) replace the
plan's, the others keep the plan's value. The price model is the plan's: an override may only
set the fields that model uses, and the merged price must pass the pricing engine's own
validation (``Price.validate``), so there is one set of price rules, not two. Errors name the
field of the override (``charges[0].tiers[1].up_to``).

Plain Python: no web or orchestration framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.rules.pricing import Price, PricingError, Tier, check_money_amount

BASE_FEE_KEY = "base_fee"  # the key a dropped base-fee override is reported under


@dataclass(frozen=True)
class ChargeOverride:
    """What one subscription pays for one plan charge instead of the plan's price; None keeps
    the plan's value (``tiers`` None keeps the plan's tiers, a tuple replaces them all)."""

    meter: str
    unit_amount: Decimal | None = None
    package_size: Decimal | None = None
    flat_amount: Decimal | None = None
    tiers: tuple[Tier, ...] | None = None
    free_units: Decimal | None = None
    minimum_amount: Decimal | None = None


@dataclass(frozen=True)
class PlanChargeTerms:
    """A plan charge as the merge sees it: its price and its minimum commitment."""

    price: Price
    minimum_amount: Decimal | None = None


@dataclass(frozen=True)
class EffectiveCharge:
    price: Price
    minimum_amount: Decimal | None


def merge_charge(plan: PlanChargeTerms, override: ChargeOverride, field: str) -> EffectiveCharge:
    """The charge's price and minimum for the subscription, validated; raise PricingError
    naming ``<field>.<name>`` (a field the plan's model does not use, a negative amount, tiers
    out of order, ...)."""
    changes: dict = {}
    for name in ("unit_amount", "package_size", "flat_amount", "free_units"):
        value = getattr(override, name)
        if value is not None:
            changes[name] = value
    if override.tiers is not None:
        changes["tiers"] = tuple(override.tiers)
    price = replace(plan.price, **changes)
    price.validate(field)
    minimum = plan.minimum_amount
    if override.minimum_amount is not None:
        check_money_amount(override.minimum_amount, f"{field}.minimum_amount")
        minimum = override.minimum_amount
    return EffectiveCharge(price, minimum)


def merge_charges(
    plan_charges: Mapping[str, PlanChargeTerms],
    overrides: Sequence[ChargeOverride],
    plan_code: str = "the plan",
) -> dict[str, EffectiveCharge]:
    """Validate a set of overrides against a plan's charges (meter key -> terms); return the
    effective charge per overridden meter. A meter the plan does not charge, or one given
    twice, is a PricingError on ``charges[i].meter``."""
    merged: dict[str, EffectiveCharge] = {}
    for i, override in enumerate(overrides):
        field = f"charges[{i}]"
        if override.meter not in plan_charges:
            raise PricingError(
                f"{field}.meter", f"{plan_code} has no charge for {override.meter!r}"
            )
        if override.meter in merged:
            raise PricingError(f"{field}.meter", f"meter {override.meter!r} is overridden twice")
        merged[override.meter] = merge_charge(plan_charges[override.meter], override, field)
    return merged


def carried_overrides(
    new_plan_charges: Mapping[str, PlanChargeTerms],
    overrides: Sequence[ChargeOverride],
    has_base_fee_override: bool,
    same_plan: bool = False,
) -> tuple[list[ChargeOverride], list[str]]:
    """The overrides a plan change keeps (the new plan charges the meter and the override still
    fits its price model) and the keys it drops, in order. A base-fee override is a price of
    the old plan: dropped (reported as ``base_fee``) on a change to another plan, kept on a
    migration to another version of the same plan (``same_plan``)."""
    kept: list[ChargeOverride] = []
    dropped: list[str] = [BASE_FEE_KEY] if has_base_fee_override and not same_plan else []
    for override in overrides:
        terms = new_plan_charges.get(override.meter)
        if terms is None:
            dropped.append(override.meter)
            continue
        try:
            merge_charge(terms, override, "charge")
        except PricingError:
            dropped.append(override.meter)
            continue
        kept.append(override)
    return kept, dropped
