"""AWS Cost and Usage Reports, legacy CSV (``lineItem/...``) and CUR 2.0 (snake_case): the
normaliser, EffectiveCost as the FOCUS conversion of CUR amortizes it, and the formats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ingestion.costs import columns as col
from ingestion.costs import values as val

CUR_LEGACY = {
    "payer": "bill/PayerAccountId",
    "payer_name": "bill/PayerAccountName",
    "account": "lineItem/UsageAccountId",
    "account_name": "lineItem/UsageAccountName",
    "currency": "lineItem/CurrencyCode",
    "period_start": "bill/BillingPeriodStartDate",
    "period_end": "bill/BillingPeriodEndDate",
    "usage_start": "lineItem/UsageStartDate",
    "usage_end": "lineItem/UsageEndDate",
    "line_type": "lineItem/LineItemType",
    "description": "lineItem/LineItemDescription",
    "product_name": "product/ProductName",
    "product_code": "lineItem/ProductCode",
    "product_family": "product/productFamily",
    "region": "product/region",
    "region_code": "product/regionCode",
    "resource": "lineItem/ResourceId",
    "sku": "product/sku",
    "usage_amount": "lineItem/UsageAmount",
    "unit": "pricing/unit",
    "unblended": "lineItem/UnblendedCost",
    "net_unblended": "lineItem/NetUnblendedCost",
    "public_cost": "pricing/publicOnDemandCost",
    "sp_effective": "savingsPlan/SavingsPlanEffectiveCost",
    "sp_total_commitment": "savingsPlan/TotalCommitmentToDate",
    "sp_used_commitment": "savingsPlan/UsedCommitment",
    "ri_effective": "reservation/EffectiveCost",
    "ri_unused_upfront": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "ri_unused_recurring": "reservation/UnusedRecurringFee",
    "tags": "",
}
CUR2 = {
    "payer": "bill_payer_account_id",
    "payer_name": "bill_payer_account_name",
    "account": "line_item_usage_account_id",
    "account_name": "line_item_usage_account_name",
    "currency": "line_item_currency_code",
    "period_start": "bill_billing_period_start_date",
    "period_end": "bill_billing_period_end_date",
    "usage_start": "line_item_usage_start_date",
    "usage_end": "line_item_usage_end_date",
    "line_type": "line_item_line_item_type",
    "description": "line_item_line_item_description",
    "product_name": "product_product_name",
    "product_code": "line_item_product_code",
    "product_family": "product_product_family",
    "region": "product_region",
    "region_code": "product_region_code",
    "resource": "line_item_resource_id",
    "sku": "product_sku",
    "usage_amount": "line_item_usage_amount",
    "unit": "pricing_unit",
    "unblended": "line_item_unblended_cost",
    "net_unblended": "line_item_net_unblended_cost",
    "public_cost": "pricing_public_on_demand_cost",
    "sp_effective": "savings_plan_savings_plan_effective_cost",
    "sp_total_commitment": "savings_plan_total_commitment_to_date",
    "sp_used_commitment": "savings_plan_used_commitment",
    "ri_effective": "reservation_effective_cost",
    "ri_unused_upfront": "reservation_unused_amortized_upfront_fee_for_billing_period",
    "ri_unused_recurring": "reservation_unused_recurring_fee",
    "tags": "resource_tags",
}
CUR_MONEY = (
    "unblended",
    "net_unblended",
    "public_cost",
    "sp_effective",
    "sp_total_commitment",
    "sp_used_commitment",
    "ri_effective",
    "ri_unused_upfront",
    "ri_unused_recurring",
)


def aws_effective_cost(line_type: str | None, c: dict[str, Decimal | None]) -> Decimal:
    """Amortized cost of a CUR line, as the FOCUS conversion of CUR defines EffectiveCost:
    covered usage at its commitment rate, negations and upfront fees at zero (they are
    amortized into the covered usage), unused commitment as its own cost."""
    unblended = c["unblended"] or Decimal(0)
    if line_type == "SavingsPlanCoveredUsage":
        return c["sp_effective"] if c["sp_effective"] is not None else unblended
    if line_type == "DiscountedUsage":
        return c["ri_effective"] if c["ri_effective"] is not None else unblended
    if line_type in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
        return Decimal(0)
    if line_type == "SavingsPlanRecurringFee":
        if c["sp_total_commitment"] is not None and c["sp_used_commitment"] is not None:
            return c["sp_total_commitment"] - c["sp_used_commitment"]
        return unblended
    if line_type == "RIFee":
        if c["ri_unused_upfront"] is not None or c["ri_unused_recurring"] is not None:
            return (c["ri_unused_upfront"] or Decimal(0)) + (c["ri_unused_recurring"] or Decimal(0))
        return unblended
    return unblended


def _tag_key(key: str) -> str:
    for prefix in ("user:", "user_"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _aws(names: dict[str, str], legacy: bool) -> Callable[[col.Columns], Callable]:
    def build(cols: col.Columns) -> Callable[[list[Any]], col.Normalised]:
        get = {k: col.column_getter(cols, v) for k, v in names.items() if v}
        if legacy:
            tag_cols = [
                (i, _tag_key(h.split("/", 1)[1]))
                for i, h in enumerate(cols.header)
                if h.startswith("resourceTags/")
            ]
        else:
            tag_cols = [
                (i, _tag_key(h[len("resource_tags_") :]))
                for i, h in enumerate(cols.header)
                if h.startswith("resource_tags_")
            ]
        tag_map = col.column_getter(cols, names["tags"]) if names["tags"] else (lambda row: None)
        product_map = col.column_getter(cols, "product") if not legacy else (lambda row: None)
        used = col.used_indexes(cols, [v for v in names.values() if v]) | {i for i, _ in tag_cols}
        extras = col.extras_getter(cols, used)

        def row(values: list[Any]) -> col.Normalised:
            t = {k: val.clean(g(values)) for k, g in get.items()}
            costs = {k: val.parse_decimal(get[k](values), names[k]) for k in CUR_MONEY}
            product_name = t["product_name"]
            if product_name is None and (raw := val.clean(product_map(values))):
                try:
                    product_name = json.loads(raw).get("product_name")
                except (ValueError, AttributeError):
                    product_name = None
            tags = {
                _tag_key(k): v for k, v in val.parse_tags(tag_map(values), names["tags"]).items()
            }
            for i, key in tag_cols:
                if (value := val.clean(values[i])) is not None:
                    tags[key] = value
            unblended = costs["unblended"]
            return {
                "provider_name": "AWS",
                "billing_account_id": t["payer"],
                "billing_account_name": t["payer_name"],
                "sub_account_id": t["account"],
                "sub_account_name": t["account_name"],
                "billing_currency": t["currency"],
                "billing_period_start": val.parse_time(t["period_start"], names["period_start"]),
                "billing_period_end": val.parse_time(t["period_end"], names["period_end"]),
                "charge_period_start": val.parse_time(t["usage_start"], names["usage_start"]),
                "charge_period_end": val.parse_time(t["usage_end"], names["usage_end"]),
                "charge_type": t["line_type"],
                "charge_description": t["description"],
                "service_name": product_name or t["product_code"],
                "service_category": t["product_family"],
                "region_id": t["region_code"] or t["region"],
                "resource_id": t["resource"],
                "resource_name": None,
                "sku_id": t["sku"],
                "consumed_quantity": val.parse_decimal(t["usage_amount"], names["usage_amount"]),
                "consumed_unit": t["unit"],
                "pricing_quantity": val.parse_decimal(t["usage_amount"], names["usage_amount"]),
                "pricing_unit": t["unit"],
                "billed_cost": unblended,
                "effective_cost": None
                if unblended is None
                else aws_effective_cost(t["line_type"], costs),
                "list_cost": costs["public_cost"]
                if costs["public_cost"] is not None
                else unblended,
                "contracted_cost": costs["net_unblended"]
                if costs["net_unblended"] is not None
                else unblended,
                "tags": tags,
                "extras": extras(values),
            }

        return row

    return build


def _cur_required(n: dict[str, str]) -> dict:
    return col.required_columns(
        (n["currency"],),
        (n["period_start"],),
        (n["period_end"],),
        (n["usage_start"],),
        (n["unblended"],),
        (n["unblended"],),
    )


def _cur(
    name: str, names: dict[str, str], description: str, *, legacy: bool
) -> tuple[col.Format, set[str]]:
    """A CUR format, with the columns it knows."""
    return (
        col.Format(
            name,
            "aws",
            "AWS",
            _aws(names, legacy=legacy),
            col.REQUIRED,
            _cur_required(names),
            description,
        ),
        {v for v in names.values() if v},
    )


def candidates() -> list[tuple[col.Format, set[str]]]:
    """The CUR formats, with the columns each knows (detection names the closest format)."""
    return [
        _cur("aws-cur", CUR_LEGACY, "an AWS Cost and Usage Report (legacy)", legacy=True),
        _cur("aws-cur2", CUR2, "an AWS CUR 2.0 export", legacy=False),
    ]
