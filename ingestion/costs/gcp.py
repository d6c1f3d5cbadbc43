"""GCP billing export rows (CSV with flattened names, or newline-delimited JSON as BigQuery
exports it): the normaliser and the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from ingestion.costs import columns as col
from ingestion.costs import values as val

GCP_COLUMNS = (
    "billing_account_id",
    "project.id",
    "project.name",
    "currency",
    "cost_type",
    "sku.description",
    "service.description",
    "location.region",
    "location.location",
    "resource.global_name",
    "resource.name",
    "sku.id",
    "usage.unit",
    "usage.pricing_unit",
    "usage_start_time",
    "usage_end_time",
    "invoice.month",
    "cost",
    "cost_at_list",
    "credits",
    "usage.amount",
    "usage.amount_in_pricing_units",
    "labels",
)


def _gcp(cols: col.Columns) -> Callable[[list[Any]], col.Normalised]:
    def t(*names: str):
        variants = []
        for n in names:
            variants += [n, n.replace(".", "_")]
        return col.text_getter(cols, *variants)

    def g(*names: str):
        variants = []
        for n in names:
            variants += [n, n.replace(".", "_")]
        return col.column_getter(cols, *variants)

    text = {
        "billing_account_id": t("billing_account_id"),
        "sub_account_id": t("project.id"),
        "sub_account_name": t("project.name"),
        "billing_currency": t("currency"),
        "charge_type": t("cost_type"),
        "charge_description": t("sku.description"),
        "service_name": t("service.description"),
        "region_id": t("location.region", "location.location"),
        "resource_id": t("resource.global_name", "resource.name"),
        "resource_name": t("resource.name"),
        "sku_id": t("sku.id"),
        "consumed_unit": t("usage.unit"),
        "pricing_unit": t("usage.pricing_unit"),
    }
    start = g("usage_start_time")
    end = g("usage_end_time")
    invoice_month = g("invoice.month")
    cost = g("cost")
    cost_at_list = g("cost_at_list")
    credits = g("credits")
    amount = g("usage.amount")
    pricing_amount = g("usage.amount_in_pricing_units")
    labels = g("labels")
    names = [v for n in GCP_COLUMNS for v in (n, n.replace(".", "_"))]
    extras = col.extras_getter(cols, col.used_indexes(cols, names))

    def row(values: list[Any]) -> col.Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = val.parse_decimal(cost(values), "cost")
        credit_total = Decimal(0)
        raw_credits = credits(values)
        if isinstance(raw_credits, str) and val.clean(raw_credits):
            try:
                raw_credits = json.loads(raw_credits, parse_float=Decimal)
            except ValueError:
                raise val.CostValueError(
                    "credits", f"{raw_credits!r} is not a JSON array"
                ) from None
        for credit in raw_credits or []:
            if isinstance(credit, dict) and credit.get("amount") is not None:
                with localcontext(val.COST_CONTEXT):
                    credit_total += val.parse_decimal(credit["amount"], "credits.amount")
        month = val.clean(invoice_month(values))
        charge_start = val.parse_time(start(values), "usage_start_time")
        if month:
            if not re.fullmatch(r"\d{6}", month):
                raise val.CostValueError("invoice.month", f"{month!r} is not YYYYMM")
            period = datetime(int(month[:4]), int(month[4:]), 1)
        elif charge_start is not None:
            period = val.month_start(charge_start)
        else:
            period = None
        listed = val.parse_decimal(cost_at_list(values), "cost_at_list")
        out.update(
            provider_name="Google Cloud",
            billing_account_name=None,
            service_category=None,
            billing_period_start=period,
            billing_period_end=None if period is None else val.next_month(period),
            charge_period_start=charge_start,
            charge_period_end=val.parse_time(end(values), "usage_end_time"),
            consumed_quantity=val.parse_decimal(amount(values), "usage.amount"),
            pricing_quantity=val.parse_decimal(
                pricing_amount(values), "usage.amount_in_pricing_units"
            ),
            billed_cost=billed,
            effective_cost=None if billed is None else val.to_storage_scale(billed + credit_total),
            list_cost=listed if listed is not None else billed,
            contracted_cost=billed,
            tags=val.parse_tags(labels(values), "labels"),
            extras=extras(values),
        )
        return out

    return row


GCP_REQUIRED = col.required_columns(
    ("currency",),
    ("invoice.month", "usage_start_time"),
    ("invoice.month", "usage_start_time"),
    ("usage_start_time",),
    ("cost",),
    ("cost",),
)


def candidates() -> list[tuple[col.Format, set[str]]]:
    """The GCP format, with the columns it knows (detection names the closest format)."""
    return [
        (
            col.Format(
                "gcp",
                "gcp",
                "Google Cloud",
                _gcp,
                col.REQUIRED,
                GCP_REQUIRED,
                "a GCP billing export",
            ),
            {v for n in GCP_COLUMNS for v in (n, n.replace(".", "_"))},
        ),
    ]
