"""Azure cost exports, EA (PascalCase) and MCA (camelCase): the normaliser and the formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import localcontext
from typing import Any

from ingestion.costs import columns as col
from ingestion.costs import values as val

AZURE_COLUMNS = (
    "BillingAccountId",
    "BillingAccountName",
    "SubscriptionId",
    "SubscriptionGuid",
    "SubscriptionName",
    "BillingCurrencyCode",
    "BillingCurrency",
    "ChargeType",
    "MeterName",
    "MeterCategory",
    "ServiceFamily",
    "ResourceLocation",
    "ResourceId",
    "ResourceName",
    "MeterId",
    "UnitOfMeasure",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "Date",
    "UsageDate",
    "Quantity",
    "CostInBillingCurrency",
    "PaygCostInBillingCurrency",
    "Tags",
    "PayGPrice",
)


def _azure(cols: col.Columns) -> Callable[[list[Any]], col.Normalised]:
    text = {
        "billing_account_id": col.text_getter(cols, "BillingAccountId"),
        "billing_account_name": col.text_getter(cols, "BillingAccountName"),
        "sub_account_id": col.text_getter(cols, "SubscriptionId", "SubscriptionGuid"),
        "sub_account_name": col.text_getter(cols, "SubscriptionName"),
        "billing_currency": col.text_getter(cols, "BillingCurrencyCode", "BillingCurrency"),
        "charge_type": col.text_getter(cols, "ChargeType"),
        "charge_description": col.text_getter(cols, "MeterName", "ProductName"),
        "service_name": col.text_getter(cols, "MeterCategory", "ConsumedService"),
        "service_category": col.text_getter(cols, "ServiceFamily"),
        "region_id": col.text_getter(cols, "ResourceLocation", "MeterRegion"),
        "resource_id": col.text_getter(cols, "ResourceId", "InstanceId"),
        "resource_name": col.text_getter(cols, "ResourceName"),
        "sku_id": col.text_getter(cols, "MeterId", "ProductId"),
        "consumed_unit": col.text_getter(cols, "UnitOfMeasure"),
    }
    period_start = col.column_getter(cols, "BillingPeriodStartDate")
    period_end = col.column_getter(cols, "BillingPeriodEndDate")
    day = col.column_getter(cols, "Date", "UsageDate")
    quantity = col.column_getter(cols, "Quantity")
    cost = col.column_getter(cols, "CostInBillingCurrency")
    payg_cost = col.column_getter(cols, "PaygCostInBillingCurrency")
    payg_price = col.column_getter(cols, "PayGPrice")
    tags = col.column_getter(cols, "Tags")
    extras = col.extras_getter(
        cols, col.used_indexes(cols, [n for n in AZURE_COLUMNS if n != "PayGPrice"])
    )

    def row(values: list[Any]) -> col.Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = val.parse_decimal(cost(values), "CostInBillingCurrency")
        amount = val.parse_decimal(quantity(values), "Quantity")
        list_cost = val.parse_decimal(payg_cost(values), "PaygCostInBillingCurrency")
        if list_cost is None:
            price = val.parse_decimal(payg_price(values), "PayGPrice")
            if price is not None and amount is not None:
                with localcontext(val.COST_CONTEXT):
                    list_cost = val.to_storage_scale(price * amount)
        usage_day = val.parse_time(day(values), "Date")
        start = val.parse_time(period_start(values), "BillingPeriodStartDate")
        end = val.parse_time(period_end(values), "BillingPeriodEndDate")
        if start is None and usage_day is not None:
            start = val.month_start(usage_day)
        if end is None and start is not None:
            end = val.next_month(start)
        elif end is not None and end.time() == datetime.min.time() and end.day != 1:
            end = end + timedelta(days=1)  # Azure's end date is the period's last day
        out.update(
            provider_name="Microsoft",
            billing_period_start=start,
            billing_period_end=end,
            charge_period_start=usage_day,
            charge_period_end=None if usage_day is None else usage_day + timedelta(days=1),
            consumed_quantity=amount,
            pricing_quantity=amount,
            pricing_unit=out["consumed_unit"],
            billed_cost=billed,
            effective_cost=billed,
            list_cost=list_cost if list_cost is not None else billed,
            contracted_cost=billed,
            tags=val.parse_tags(tags(values), "Tags"),
            extras=extras(values),
        )
        return out

    return row


AZURE_REQUIRED = col.required_columns(
    ("BillingCurrencyCode", "BillingCurrency"),
    ("BillingPeriodStartDate", "Date", "UsageDate"),
    ("BillingPeriodStartDate", "Date", "UsageDate"),
    ("Date", "UsageDate"),
    ("CostInBillingCurrency",),
    ("CostInBillingCurrency",),
)


def candidates() -> list[tuple[col.Format, set[str]]]:
    """The Azure formats, with the columns each knows (detection names the closest format)."""
    return [
        (
            col.Format(
                "azure-ea",
                "azure",
                "Microsoft",
                _azure,
                col.REQUIRED,
                AZURE_REQUIRED,
                "an Azure EA cost export",
            ),
            set(AZURE_COLUMNS),
        ),
        (
            col.Format(
                "azure-mca",
                "azure",
                "Microsoft",
                _azure,
                col.REQUIRED,
                {k: tuple(n[0].lower() + n[1:] for n in v) for k, v in AZURE_REQUIRED.items()},
                "an Azure MCA cost export",
            ),
            {n[0].lower() + n[1:] for n in AZURE_COLUMNS},
        ),
    ]
