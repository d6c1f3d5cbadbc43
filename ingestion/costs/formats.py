"""Cloud cost file formats: detection from the header and normalisation to landing rows.

Every supported export becomes the same landing row (:data:`ROW_COLUMNS`): FOCUS-like column
meanings with the source's own charge type kept as text (dbt staging maps it per provider),
money as :class:`~decimal.Decimal`, times as naive UTC, tags as a JSON object and the source
columns nothing else uses in ``extras`` (JSON).

Formats: FOCUS 1.0-1.2 (CSV, Parquet), AWS CUR legacy CSV (``lineItem/...``), AWS CUR 2.0
(snake_case), Azure cost exports (EA: PascalCase, MCA: camelCase), GCP billing export rows
(CSV with flattened names or newline-delimited JSON as BigQuery exports it).

Quirks handled: the literal ``NULL`` (and empty strings) as null, timestamps without a zone
(taken as UTC), ``MM/DD/YYYY`` dates (Azure EA), a UTF-8 byte-order mark, Azure tags without
braces, and thousands of tag columns (CUR ``resourceTags/...``, CUR 2.0 ``resource_tags_*``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

csv.field_size_limit(sys.maxsize)

NULLS = {"", "NULL", "null", "Null", "None", "NaN", "nan"}
MAX_MONEY_PLACES = 12
MAX_QUANTITY_PLACES = 15

# (name, duckdb type, postgres type) of a landed row, in order.
ROW_COLUMNS = (
    ("file_id", "varchar", "text"),
    ("row_number", "bigint", "bigint"),
    ("source_format", "varchar", "text"),
    ("provider_name", "varchar", "text"),
    ("billing_account_id", "varchar", "text"),
    ("billing_account_name", "varchar", "text"),
    ("sub_account_id", "varchar", "text"),
    ("sub_account_name", "varchar", "text"),
    ("billing_currency", "varchar", "text"),
    ("billing_period_start", "timestamp", "timestamp"),
    ("billing_period_end", "timestamp", "timestamp"),
    ("charge_period_start", "timestamp", "timestamp"),
    ("charge_period_end", "timestamp", "timestamp"),
    ("charge_type", "varchar", "text"),
    ("charge_description", "varchar", "text"),
    ("service_name", "varchar", "text"),
    ("service_category", "varchar", "text"),
    ("region_id", "varchar", "text"),
    ("resource_id", "varchar", "text"),
    ("resource_name", "varchar", "text"),
    ("sku_id", "varchar", "text"),
    ("consumed_quantity", "decimal(38, 15)", "numeric(38, 15)"),
    ("consumed_unit", "varchar", "text"),
    ("pricing_quantity", "decimal(38, 15)", "numeric(38, 15)"),
    ("pricing_unit", "varchar", "text"),
    ("billed_cost", "decimal(38, 12)", "numeric(38, 12)"),
    ("effective_cost", "decimal(38, 12)", "numeric(38, 12)"),
    ("list_cost", "decimal(38, 12)", "numeric(38, 12)"),
    ("contracted_cost", "decimal(38, 12)", "numeric(38, 12)"),
    ("tags", "varchar", "jsonb"),
    ("extras", "varchar", "jsonb"),
)
ROW_NAMES = tuple(c[0] for c in ROW_COLUMNS)


class CostFileError(ValueError):
    """The file cannot be landed; the message says why (and where)."""


# ---------------------------------------------------------------------------- value parsing
_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y%m%d",
)


def clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in NULLS else text


def parse_time(value: Any, column: str) -> datetime | None:
    """A timestamp as naive UTC; values without a zone are UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = clean(value)
    if text is None:
        return None
    candidate = text
    if candidate.endswith(" UTC"):
        candidate = candidate[:-4]
    if candidate.endswith("Z") or candidate.endswith("z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = None
        for fmt in _TS_FORMATS:
            try:
                parsed = datetime.strptime(candidate, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise CostFileError(f"{column}: {text!r} is not a timestamp")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_decimal(value: Any, column: str, places: int = MAX_MONEY_PLACES) -> Decimal | None:
    text = clean(value)
    if text is None:
        return None
    try:
        number = Decimal(text.replace(",", "")) if "," in text and "." in text else Decimal(text)
    except InvalidOperation:
        raise CostFileError(f"{column}: {text!r} is not a number") from None
    if not number.is_finite():
        raise CostFileError(f"{column}: {text!r} is not a finite number")
    number = number.normalize() if number != 0 else Decimal(0)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise CostFileError(f"{column}: {text!r} has more than {places} decimal places")
    if abs(number) >= Decimal(10) ** (38 - places):
        raise CostFileError(f"{column}: {text!r} is too large")
    return number


def parse_tags(value: Any, column: str) -> dict[str, str]:
    """A JSON object of tags; Azure EA writes it without braces, GCP as [{key, value}]."""
    if isinstance(value, dict):
        return {str(k): _tag_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return _tag_list(value)
    text = clean(value)
    if text is None or text in ("{}", "[]"):
        return {}
    if not text.startswith(("{", "[")):
        text = "{" + text + "}"
    try:
        parsed = json.loads(text)
    except ValueError:
        raise CostFileError(f"{column}: {clean(value)!r} is not a JSON object of tags") from None
    if isinstance(parsed, list):
        return _tag_list(parsed)
    if not isinstance(parsed, dict):
        raise CostFileError(f"{column}: {clean(value)!r} is not a JSON object of tags")
    return {str(k): _tag_value(v) for k, v in parsed.items() if v is not None}


def _tag_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _tag_list(items: list) -> dict[str, str]:
    tags = {}
    for item in items:
        if isinstance(item, dict) and "key" in item:
            tags[str(item["key"])] = _tag_value(item.get("value"))
    return tags


def month_start(value: datetime) -> datetime:
    return datetime(value.year, value.month, 1)


def next_month(value: datetime) -> datetime:
    return datetime(value.year + (value.month == 12), value.month % 12 + 1, 1)


# ---------------------------------------------------------------------------- reading
@dataclass
class Table:
    """A file's header and an iterator of rows (lists of raw values aligned to the header)."""

    container: str  # csv | parquet | jsonl
    header: list[str]
    rows: Callable[[], Iterator[list[Any]]]


def _open_text(path: Path) -> io.TextIOBase:
    """Text of a (possibly gzipped) file, without a UTF-8 byte-order mark (Azure writes one)."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - the caller closes it


def _flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("labels", "tags", "resource_tags"):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def read_table(path: Path) -> Table:
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise CostFileError(f"not a readable Parquet file: {exc}") from None
        header = list(parquet.schema_arrow.names)

        def parquet_rows() -> Iterator[list[Any]]:
            for batch in parquet.iter_batches(batch_size=10_000):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                yield from (list(r) for r in zip(*columns, strict=True))

        return Table("parquet", header, parquet_rows)
    if name.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")):
        records: list[dict[str, Any]] = []
        try:
            with _open_text(path) as handle:
                for line_number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    value = json.loads(line, parse_float=Decimal)
                    if not isinstance(value, dict):
                        raise CostFileError(f"line {line_number}: not a JSON object")
                    records.append(_flatten(value))
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, CostFileError):
                raise
            raise CostFileError(f"not newline-delimited JSON: {exc}") from None
        header: list[str] = []
        seen: set[str] = set()
        for record in records:
            for key in record:
                if key not in seen:
                    seen.add(key)
                    header.append(key)
        return Table("jsonl", header, lambda: ([r.get(k) for k in header] for r in records))
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError, csv.Error) as exc:
        raise CostFileError(f"not a readable CSV file: {exc}") from None
    if not header:
        raise CostFileError("the file is empty")

    def csv_rows() -> Iterator[list[Any]]:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader)
            for line in reader:
                if not line or (len(line) == 1 and not line[0].strip()):
                    continue
                if len(line) != len(header):
                    raise CostFileError(
                        f"row {reader.line_num - 1}: {len(line)} fields, the header has "
                        f"{len(header)}"
                    )
                yield line

    return Table("csv", [h.strip() for h in header], csv_rows)


# ---------------------------------------------------------------------------- formats
@dataclass
class Columns:
    """Looks source columns up by name (exact first, then case-insensitively)."""

    header: list[str]

    def __post_init__(self) -> None:
        self.exact = {name: i for i, name in enumerate(self.header)}
        self.folded = {name.lower(): i for i, name in reversed(list(enumerate(self.header)))}

    def index(self, *names: str) -> int | None:
        for name in names:
            if name in self.exact:
                return self.exact[name]
            if name.lower() in self.folded:
                return self.folded[name.lower()]
        return None

    def has(self, *names: str) -> bool:
        return all(self.index(n) is not None for n in names)


Normalised = dict[str, Any]


@dataclass
class Format:
    name: str  # focus-1.0 | aws-cur | aws-cur2 | azure-ea | ...
    family: str  # focus | aws | azure | gcp (dbt staging model per family)
    provider: str | None
    normalise: Callable[[Columns], Callable[[list[Any]], Normalised]]
    required: tuple[str, ...]


def _getter(cols: Columns, *names: str) -> Callable[[list[Any]], Any]:
    index = cols.index(*names)
    if index is None:
        return lambda row: None
    return lambda row: row[index]


def _text(cols: Columns, *names: str) -> Callable[[list[Any]], str | None]:
    get = _getter(cols, *names)
    return lambda row: clean(get(row))


def _extras(cols: Columns, used: set[int]) -> Callable[[list[Any]], str]:
    rest = [(i, name) for i, name in enumerate(cols.header) if i not in used]

    def extras(row: list[Any]) -> str:
        out = {}
        for i, name in rest:
            value = row[i]
            if isinstance(value, (dict, list)):
                out[name] = value
                continue
            text = clean(value)
            if text is not None:
                out[name] = text
        return json.dumps(out, sort_keys=True, default=str)

    return extras


def _used(cols: Columns, names: list[str]) -> set[int]:
    return {i for n in names if (i := cols.index(n)) is not None}


# FOCUS ----------------------------------------------------------------------------------------
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


def _focus(cols: Columns) -> Callable[[list[Any]], Normalised]:
    texts = {k: _text(cols, *names) for k, names in FOCUS_COLUMNS.items()}
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
    getters = {k: (_getter(cols, v), v) for k, v in {**times, **money, **quantities}.items()}
    tags = _getter(cols, "Tags")
    used = _used(
        cols,
        [n for names in FOCUS_COLUMNS.values() for n in names]
        + list(times.values())
        + list(money.values())
        + list(quantities.values())
        + ["Tags"],
    )
    extras = _extras(cols, used)

    def row(values: list[Any]) -> Normalised:
        out = {k: f(values) for k, f in texts.items()}
        for key, (get, column) in getters.items():
            if key in times:
                out[key] = parse_time(get(values), column)
            elif key in money:
                out[key] = parse_decimal(get(values), column)
            else:
                out[key] = parse_decimal(get(values), column, MAX_QUANTITY_PLACES)
        out["tags"] = parse_tags(tags(values), "Tags")
        out["extras"] = extras(values)
        return out

    return row


# AWS CUR (legacy and 2.0) -------------------------------------------------------------------
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


def _aws(names: dict[str, str], legacy: bool) -> Callable[[Columns], Callable]:
    def build(cols: Columns) -> Callable[[list[Any]], Normalised]:
        get = {k: _getter(cols, v) for k, v in names.items() if v}
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
        tag_map = _getter(cols, names["tags"]) if names["tags"] else (lambda row: None)
        product_map = _getter(cols, "product") if not legacy else (lambda row: None)
        used = _used(cols, [v for v in names.values() if v]) | {i for i, _ in tag_cols}
        extras = _extras(cols, used)

        def row(values: list[Any]) -> Normalised:
            t = {k: clean(g(values)) for k, g in get.items()}
            costs = {k: parse_decimal(get[k](values), names[k]) for k in CUR_MONEY}
            product_name = t["product_name"]
            if product_name is None and (raw := clean(product_map(values))):
                try:
                    product_name = json.loads(raw).get("product_name")
                except (ValueError, AttributeError):
                    product_name = None
            tags = {_tag_key(k): v for k, v in parse_tags(tag_map(values), names["tags"]).items()}
            for i, key in tag_cols:
                if (value := clean(values[i])) is not None:
                    tags[key] = value
            unblended = costs["unblended"]
            return {
                "provider_name": "AWS",
                "billing_account_id": t["payer"],
                "billing_account_name": t["payer_name"],
                "sub_account_id": t["account"],
                "sub_account_name": t["account_name"],
                "billing_currency": t["currency"],
                "billing_period_start": parse_time(t["period_start"], names["period_start"]),
                "billing_period_end": parse_time(t["period_end"], names["period_end"]),
                "charge_period_start": parse_time(t["usage_start"], names["usage_start"]),
                "charge_period_end": parse_time(t["usage_end"], names["usage_end"]),
                "charge_type": t["line_type"],
                "charge_description": t["description"],
                "service_name": product_name or t["product_code"],
                "service_category": t["product_family"],
                "region_id": t["region_code"] or t["region"],
                "resource_id": t["resource"],
                "resource_name": None,
                "sku_id": t["sku"],
                "consumed_quantity": parse_decimal(
                    t["usage_amount"], names["usage_amount"], MAX_QUANTITY_PLACES
                ),
                "consumed_unit": t["unit"],
                "pricing_quantity": parse_decimal(
                    t["usage_amount"], names["usage_amount"], MAX_QUANTITY_PLACES
                ),
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


# Azure (EA and MCA) ------------------------------------------------------------------------
def _azure(cols: Columns) -> Callable[[list[Any]], Normalised]:
    text = {
        "billing_account_id": _text(cols, "BillingAccountId"),
        "billing_account_name": _text(cols, "BillingAccountName"),
        "sub_account_id": _text(cols, "SubscriptionId", "SubscriptionGuid"),
        "sub_account_name": _text(cols, "SubscriptionName"),
        "billing_currency": _text(cols, "BillingCurrencyCode", "BillingCurrency"),
        "charge_type": _text(cols, "ChargeType"),
        "charge_description": _text(cols, "MeterName", "ProductName"),
        "service_name": _text(cols, "MeterCategory", "ConsumedService"),
        "service_category": _text(cols, "ServiceFamily"),
        "region_id": _text(cols, "ResourceLocation", "MeterRegion"),
        "resource_id": _text(cols, "ResourceId", "InstanceId"),
        "resource_name": _text(cols, "ResourceName"),
        "sku_id": _text(cols, "MeterId", "ProductId"),
        "consumed_unit": _text(cols, "UnitOfMeasure"),
    }
    period_start = _getter(cols, "BillingPeriodStartDate")
    period_end = _getter(cols, "BillingPeriodEndDate")
    day = _getter(cols, "Date", "UsageDate")
    quantity = _getter(cols, "Quantity")
    cost = _getter(cols, "CostInBillingCurrency")
    payg_cost = _getter(cols, "PaygCostInBillingCurrency")
    payg_price = _getter(cols, "PayGPrice")
    tags = _getter(cols, "Tags")
    names = [
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
    ]
    extras = _extras(cols, _used(cols, names))

    def row(values: list[Any]) -> Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = parse_decimal(cost(values), "CostInBillingCurrency")
        amount = parse_decimal(quantity(values), "Quantity", MAX_QUANTITY_PLACES)
        list_cost = parse_decimal(payg_cost(values), "PaygCostInBillingCurrency")
        if list_cost is None:
            price = parse_decimal(payg_price(values), "PayGPrice")
            if price is not None and amount is not None:
                list_cost = price * amount
        usage_day = parse_time(day(values), "Date")
        start = parse_time(period_start(values), "BillingPeriodStartDate")
        end = parse_time(period_end(values), "BillingPeriodEndDate")
        if start is None and usage_day is not None:
            start = month_start(usage_day)
        if end is None and start is not None:
            end = next_month(start)
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
            tags=parse_tags(tags(values), "Tags"),
            extras=extras(values),
        )
        return out

    return row


# GCP ---------------------------------------------------------------------------------------
def _gcp(cols: Columns) -> Callable[[list[Any]], Normalised]:
    def t(*names: str):
        variants = []
        for n in names:
            variants += [n, n.replace(".", "_")]
        return _text(cols, *variants)

    def g(*names: str):
        variants = []
        for n in names:
            variants += [n, n.replace(".", "_")]
        return _getter(cols, *variants)

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
    names = []
    for n in [
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
    ]:
        names += [n, n.replace(".", "_")]
    extras = _extras(cols, _used(cols, names))

    def row(values: list[Any]) -> Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = parse_decimal(cost(values), "cost")
        credit_total = Decimal(0)
        raw_credits = credits(values)
        if isinstance(raw_credits, str) and clean(raw_credits):
            try:
                raw_credits = json.loads(raw_credits)
            except ValueError:
                raise CostFileError(f"credits: {raw_credits!r} is not a JSON array") from None
        for credit in raw_credits or []:
            if isinstance(credit, dict) and credit.get("amount") is not None:
                credit_total += parse_decimal(str(credit["amount"]), "credits.amount")
        month = clean(invoice_month(values))
        charge_start = parse_time(start(values), "usage_start_time")
        if month:
            if not re.fullmatch(r"\d{6}", month):
                raise CostFileError(f"invoice.month: {month!r} is not YYYYMM")
            period = datetime(int(month[:4]), int(month[4:]), 1)
        elif charge_start is not None:
            period = month_start(charge_start)
        else:
            period = None
        listed = parse_decimal(cost_at_list(values), "cost_at_list")
        out.update(
            provider_name="Google Cloud",
            billing_account_name=None,
            service_category=None,
            billing_period_start=period,
            billing_period_end=None if period is None else next_month(period),
            charge_period_start=charge_start,
            charge_period_end=parse_time(end(values), "usage_end_time"),
            consumed_quantity=parse_decimal(amount(values), "usage.amount", MAX_QUANTITY_PLACES),
            pricing_quantity=parse_decimal(
                pricing_amount(values), "usage.amount_in_pricing_units", MAX_QUANTITY_PLACES
            ),
            billed_cost=billed,
            effective_cost=None if billed is None else billed + credit_total,
            list_cost=listed if listed is not None else billed,
            contracted_cost=billed,
            tags=parse_tags(labels(values), "labels"),
            extras=extras(values),
        )
        return out

    return row


# Detection -----------------------------------------------------------------------------------
REQUIRED = (
    "billing_currency",
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "billed_cost",
    "effective_cost",
)


def detect(header: list[str]) -> Format:
    """The format of a file from its header; :class:`CostFileError` if none matches."""
    cols = Columns(header)
    names = set(header)
    if cols.has("BilledCost", "EffectiveCost", "ChargePeriodStart", "BillingPeriodStart"):
        if "InvoiceId" in names or "PricingCurrency" in names or "BillingAccountType" in names:
            version = "1.2"
        elif "ServiceSubcategory" in names or "SkuMeter" in names or "SkuPriceDetails" in names:
            version = "1.1"
        else:
            version = "1.0"
        return Format(f"focus-{version}", "focus", None, _focus, REQUIRED)
    if "lineItem/UnblendedCost" in names or "lineItem/LineItemType" in names:
        return Format("aws-cur", "aws", "AWS", _aws(CUR_LEGACY, legacy=True), REQUIRED)
    if "line_item_unblended_cost" in names or "line_item_line_item_type" in names:
        return Format("aws-cur2", "aws", "AWS", _aws(CUR2, legacy=False), REQUIRED)
    if "costInBillingCurrency" in names:
        return Format("azure-mca", "azure", "Microsoft", _azure, REQUIRED)
    if cols.has("CostInBillingCurrency"):
        return Format("azure-ea", "azure", "Microsoft", _azure, REQUIRED)
    flat = {h.replace(".", "_").lower() for h in header}
    if {"billing_account_id", "cost", "usage_start_time"} <= flat and (
        "invoice_month" in flat or "service_description" in flat
    ):
        return Format("gcp", "gcp", "Google Cloud", _gcp, REQUIRED)
    shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
    raise CostFileError(
        "unknown cost file format: the header matches none of FOCUS 1.0-1.2, AWS CUR, "
        f"AWS CUR 2.0, Azure EA/MCA or GCP billing export (columns: {shown})"
    )


# ---------------------------------------------------------------------------- parsing
@dataclass
class ParsedFile:
    format: Format
    rows: list[dict[str, Any]]


def parse_file(path: Path) -> ParsedFile:
    """Read, detect and normalise every row; any bad row fails the whole file."""
    table = read_table(path)
    fmt = detect(table.header)
    normalise = fmt.normalise(Columns(table.header))
    rows: list[dict[str, Any]] = []
    for number, values in enumerate(table.rows(), 1):
        try:
            row = normalise(values)
        except CostFileError as exc:
            raise CostFileError(f"row {number}: {exc}") from None
        missing = [c for c in fmt.required if row.get(c) is None]
        if missing:
            raise CostFileError(f"row {number}: missing {', '.join(missing)}")
        currency = row["billing_currency"]
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise CostFileError(f"row {number}: {currency!r} is not an ISO currency code")
        row["billing_currency"] = currency.upper()
        if row["billing_period_end"] <= row["billing_period_start"]:
            raise CostFileError(f"row {number}: the billing period ends before it starts")
        if row.get("provider_name") is None:
            row["provider_name"] = fmt.provider
        row["row_number"] = number
        row["source_format"] = fmt.name
        row["tags"] = json.dumps(row["tags"], sort_keys=True)
        rows.append(row)
    if not rows:
        raise CostFileError("the file has a header but no rows")
    return ParsedFile(fmt, rows)
