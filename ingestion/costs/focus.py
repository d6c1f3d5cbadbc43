"""FOCUS 1.0-1.2 exports (CSV, Parquet): the normaliser and the format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingestion.costs import columns as col
from ingestion.costs import values as val

FOCUS_COLUMNS = {
    "provider_name": ("ProviderName", "ServiceProviderName"),
    "billing_account_id": ("BillingAccountId",),
    "billing_account_name": ("BillingAccountName",),
    "sub_account_id": ("SubAccountId",),
    "sub_account_name": ("SubAccountName",),
    "billing_currency": ("BillingCurrency",),
    "charge_type": ("ChargeCategory",),
    "charge_description": ("ChargeDescription",),
    "service_name": ("ServiceName",),
    "service_category": ("ServiceCategory",),
    "region_id": ("RegionId",),
    "resource_id": ("ResourceId",),
    "resource_name": ("ResourceName",),
    "sku_id": ("SkuId",),
    "consumed_unit": ("ConsumedUnit",),
    "pricing_unit": ("PricingUnit",),
}


def _focus(cols: col.Columns) -> Callable[[list[Any]], col.Normalised]:
    texts = {k: col.text_getter(cols, *names) for k, names in FOCUS_COLUMNS.items()}
    times = {
        "billing_period_start": "BillingPeriodStart",
        "billing_period_end": "BillingPeriodEnd",
        "charge_period_start": "ChargePeriodStart",
        "charge_period_end": "ChargePeriodEnd",
    }
    money = {
        "billed_cost": "BilledCost",
        "effective_cost": "EffectiveCost",
        "list_cost": "ListCost",
        "contracted_cost": "ContractedCost",
    }
    quantities = {"consumed_quantity": "ConsumedQuantity", "pricing_quantity": "PricingQuantity"}
    getters = {
        k: (col.column_getter(cols, v), v) for k, v in {**times, **money, **quantities}.items()
    }
    tags = col.column_getter(cols, "Tags")
    used = col.used_indexes(
        cols,
        [n for names in FOCUS_COLUMNS.values() for n in names]
        + list(times.values())
        + list(money.values())
        + list(quantities.values())
        + ["Tags"],
    )
    extras = col.extras_getter(cols, used)

    def row(values: list[Any]) -> col.Normalised:
        out = {k: f(values) for k, f in texts.items()}
        for key, (get, column) in getters.items():
            if key in times:
                out[key] = val.parse_time(get(values), column)
            elif key in money:
                out[key] = val.parse_decimal(get(values), column)
            else:
                out[key] = val.parse_decimal(get(values), column)
        out["tags"] = val.parse_tags(tags(values), "Tags")
        out["extras"] = extras(values)
        return out

    return row


FOCUS_REQUIRED = col.required_columns(
    ("BillingCurrency",),
    ("BillingPeriodStart",),
    ("BillingPeriodEnd",),
    ("ChargePeriodStart",),
    ("BilledCost",),
    ("EffectiveCost",),
)


def focus_format(version: str) -> col.Format:
    return col.Format(
        f"focus-{version}",
        "focus",
        None,
        _focus,
        col.REQUIRED,
        FOCUS_REQUIRED,
        f"a FOCUS {version} export",
    )


def candidates() -> list[tuple[col.Format, set[str]]]:
    """The FOCUS format, with the columns it knows (detection names the closest format)."""
    focus_known = {n for names in FOCUS_COLUMNS.values() for n in names} | {
        n for names in FOCUS_REQUIRED.values() for n in names
    }
    return [(focus_format("1.0"), focus_known)]
