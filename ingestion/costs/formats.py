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
import difflib
import gzip
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from pathlib import Path
from typing import Any

csv.field_size_limit(sys.maxsize)

NULLS = {"", "NULL", "null", "Null", "None", "NaN", "nan"}
# Costs, usage quantities and unit prices are kept at this scale from the file to the marts:
# decimal(38, 20), 18 digits before the point. The dbt macro cost_amount_type() is the same type.
COST_PLACES = 20
COST_INTEGER_DIGITS = 38 - COST_PLACES
COST_TYPE = (f"decimal(38, {COST_PLACES})", f"numeric(38, {COST_PLACES})")  # duckdb, postgres
# Exact arithmetic on cost values (sums, price x quantity) before storage rounding.
COST_CONTEXT = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
_STORAGE_QUANTUM = Decimal(1).scaleb(-COST_PLACES)

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
    ("consumed_quantity", *COST_TYPE),
    ("consumed_unit", "varchar", "text"),
    ("pricing_quantity", *COST_TYPE),
    ("pricing_unit", "varchar", "text"),
    ("billed_cost", *COST_TYPE),
    ("effective_cost", *COST_TYPE),
    ("list_cost", *COST_TYPE),
    ("contracted_cost", *COST_TYPE),
    ("tags", "varchar", "jsonb"),
    ("extras", "varchar", "jsonb"),
)
ROW_NAMES = tuple(c[0] for c in ROW_COLUMNS)


class CostFileError(ValueError):
    """The file cannot be landed; the message says why (and where)."""


class CostValueError(CostFileError):
    """A value of one column cannot be read; :func:`parse_file` adds the line and the column
    as the file names it."""

    def __init__(self, column: str, problem: str):
        self.column, self.problem = column, problem
        super().__init__(f"column {column}: {problem}")


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
        raise CostValueError(column, f"{text!r} is not a timestamp")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Thousands separators only next to a decimal point: "1,234" alone may be a decimal comma.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d*(?:[eE][+-]?\d+)?")


def parse_decimal(value: Any, column: str) -> Decimal | None:
    """A cost, quantity or price as the vendor wrote it, exactly: plain, exponent
    (``6.65679E-09``, ``1.2e+3``), leading ``+``, trailing zeros, thousands separators
    (``1,234.5``). More than :data:`COST_PLACES` decimal places round half-even to that
    scale (the storage scale); more than :data:`COST_INTEGER_DIGITS` integer digits fail."""
    if isinstance(value, bool):
        raise CostValueError(column, f"{value!r} is not a number")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float
    text = clean(value)
    if text is None:
        return None
    if _GROUPED.fullmatch(text):
        candidate = text.replace(",", "")
    elif _NUMBER.fullmatch(text):
        candidate = text
    else:
        raise CostValueError(column, f"{text!r} is not a number")
    try:
        number = to_storage_scale(Decimal(candidate))
    except ArithmeticError:  # an exponent past what any decimal holds
        raise CostValueError(column, f"{text!r} is out of range") from None
    if number.adjusted() >= COST_INTEGER_DIGITS:
        raise CostValueError(
            column,
            f"{text!r} is too large (at most {COST_INTEGER_DIGITS} digits before the point)",
        )
    return number


def to_storage_scale(number: Decimal) -> Decimal:
    """``number`` with at most :data:`COST_PLACES` places (half-even), without trailing zeros."""
    if number == 0:
        return Decimal(0)
    with localcontext(COST_CONTEXT):
        if number.adjusted() >= COST_INTEGER_DIGITS:
            return number  # too large: the caller says so (quantize would need more digits)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -COST_PLACES:
            number = number.quantize(_STORAGE_QUANTUM)
        return number.normalize() if number != 0 else Decimal(0)


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
        raise CostValueError(column, f"{clean(value)!r} is not a JSON object of tags") from None
    if isinstance(parsed, list):
        return _tag_list(parsed)
    if not isinstance(parsed, dict):
        raise CostValueError(column, f"{clean(value)!r} is not a JSON object of tags")
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
    rows: Callable[[], Iterator[tuple[int, list[Any]]]]  # (where, values)
    unit: str = "line"  # `where` is a line as an editor shows it (header: 1), or a row (Parquet)


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

        def parquet_rows() -> Iterator[tuple[int, list[Any]]]:
            number = 0
            for batch in parquet.iter_batches(batch_size=10_000):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*columns, strict=True):
                    number += 1
                    yield number, list(values)

        return Table("parquet", header, parquet_rows, unit="row")
    if name.endswith((".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")):
        records: list[tuple[int, dict[str, Any]]] = []
        line_number = 0
        try:
            with _open_text(path) as handle:
                for line_number, line in enumerate(handle, 1):  # noqa: B007 - used on error
                    if not line.strip():
                        continue
                    value = json.loads(line, parse_float=Decimal)
                    if not isinstance(value, dict):
                        raise CostFileError(f"line {line_number}: not a JSON object")
                    records.append((line_number, _flatten(value)))
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, CostFileError):
                raise
            raise CostFileError(f"line {line_number}: not newline-delimited JSON: {exc}") from None
        header: list[str] = []
        seen: set[str] = set()
        for _, record in records:
            for key in record:
                if key not in seen:
                    seen.add(key)
                    header.append(key)
        return Table("jsonl", header, lambda: ((n, [r.get(k) for k in header]) for n, r in records))
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError, csv.Error) as exc:
        raise CostFileError(f"not a readable CSV file: {exc}") from None
    if not header:
        raise CostFileError("the file is empty")

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader)
            while True:
                first_line = reader.line_num + 1  # a quoted field may span several lines
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise CostFileError(f"line {first_line}: not valid CSV: {exc}") from None
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) != len(header):
                    raise CostFileError(
                        f"line {first_line}: {len(values)} fields, the header has {len(header)}"
                    )
                yield first_line, values

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

    def name(self, *names: str) -> str | None:
        """The file's own header of the first of ``names`` it has (GCP: ``a.b`` or ``a_b``)."""
        variants = [v for n in names for v in dict.fromkeys((n, n.replace(".", "_")))]
        index = self.index(*variants)
        return None if index is None else self.header[index]


Normalised = dict[str, Any]


@dataclass
class Format:
    name: str  # focus-1.0 | aws-cur | aws-cur2 | azure-ea | ...
    family: str  # focus | aws | azure | gcp (dbt staging model per family)
    provider: str | None
    normalise: Callable[[Columns], Callable[[list[Any]], Normalised]]
    required: tuple[str, ...]
    # Each required field -> the vendor's columns it is read from (one of them must exist).
    columns: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    label: str = ""  # how the vendor calls the export, for messages


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
                out[key] = parse_decimal(get(values), column)
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
                "consumed_quantity": parse_decimal(t["usage_amount"], names["usage_amount"]),
                "consumed_unit": t["unit"],
                "pricing_quantity": parse_decimal(t["usage_amount"], names["usage_amount"]),
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
    extras = _extras(cols, _used(cols, [n for n in AZURE_COLUMNS if n != "PayGPrice"]))

    def row(values: list[Any]) -> Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = parse_decimal(cost(values), "CostInBillingCurrency")
        amount = parse_decimal(quantity(values), "Quantity")
        list_cost = parse_decimal(payg_cost(values), "PaygCostInBillingCurrency")
        if list_cost is None:
            price = parse_decimal(payg_price(values), "PayGPrice")
            if price is not None and amount is not None:
                with localcontext(COST_CONTEXT):
                    list_cost = to_storage_scale(price * amount)
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
    names = [v for n in GCP_COLUMNS for v in (n, n.replace(".", "_"))]
    extras = _extras(cols, _used(cols, names))

    def row(values: list[Any]) -> Normalised:
        out = {k: f(values) for k, f in text.items()}
        billed = parse_decimal(cost(values), "cost")
        credit_total = Decimal(0)
        raw_credits = credits(values)
        if isinstance(raw_credits, str) and clean(raw_credits):
            try:
                raw_credits = json.loads(raw_credits, parse_float=Decimal)
            except ValueError:
                raise CostValueError("credits", f"{raw_credits!r} is not a JSON array") from None
        for credit in raw_credits or []:
            if isinstance(credit, dict) and credit.get("amount") is not None:
                with localcontext(COST_CONTEXT):
                    credit_total += parse_decimal(credit["amount"], "credits.amount")
        month = clean(invoice_month(values))
        charge_start = parse_time(start(values), "usage_start_time")
        if month:
            if not re.fullmatch(r"\d{6}", month):
                raise CostValueError("invoice.month", f"{month!r} is not YYYYMM")
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
            consumed_quantity=parse_decimal(amount(values), "usage.amount"),
            pricing_quantity=parse_decimal(pricing_amount(values), "usage.amount_in_pricing_units"),
            billed_cost=billed,
            effective_cost=None if billed is None else to_storage_scale(billed + credit_total),
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


def _required(currency, period_start, period_end, charge_start, billed, effective) -> dict:
    return dict(
        zip(
            REQUIRED,
            (currency, period_start, period_end, charge_start, billed, effective),
            strict=True,
        )
    )


FOCUS_REQUIRED = _required(
    ("BillingCurrency",),
    ("BillingPeriodStart",),
    ("BillingPeriodEnd",),
    ("ChargePeriodStart",),
    ("BilledCost",),
    ("EffectiveCost",),
)


def _cur_required(n: dict[str, str]) -> dict:
    return _required(
        (n["currency"],),
        (n["period_start"],),
        (n["period_end"],),
        (n["usage_start"],),
        (n["unblended"],),
        (n["unblended"],),
    )


AZURE_REQUIRED = _required(
    ("BillingCurrencyCode", "BillingCurrency"),
    ("BillingPeriodStartDate", "Date", "UsageDate"),
    ("BillingPeriodStartDate", "Date", "UsageDate"),
    ("Date", "UsageDate"),
    ("CostInBillingCurrency",),
    ("CostInBillingCurrency",),
)
GCP_REQUIRED = _required(
    ("currency",),
    ("invoice.month", "usage_start_time"),
    ("invoice.month", "usage_start_time"),
    ("usage_start_time",),
    ("cost",),
    ("cost",),
)


def _focus_format(version: str) -> Format:
    return Format(
        f"focus-{version}",
        "focus",
        None,
        _focus,
        REQUIRED,
        FOCUS_REQUIRED,
        f"a FOCUS {version} export",
    )


# Every format, with the columns it knows (to name the closest one when none matches exactly).
def _candidates() -> list[tuple[Format, set[str]]]:
    focus_known = {n for names in FOCUS_COLUMNS.values() for n in names} | {
        n for names in FOCUS_REQUIRED.values() for n in names
    }
    return [
        (_focus_format("1.0"), focus_known),
        (
            Format(
                "aws-cur",
                "aws",
                "AWS",
                _aws(CUR_LEGACY, legacy=True),
                REQUIRED,
                _cur_required(CUR_LEGACY),
                "an AWS Cost and Usage Report (legacy)",
            ),
            {v for v in CUR_LEGACY.values() if v},
        ),
        (
            Format(
                "aws-cur2",
                "aws",
                "AWS",
                _aws(CUR2, legacy=False),
                REQUIRED,
                _cur_required(CUR2),
                "an AWS CUR 2.0 export",
            ),
            {v for v in CUR2.values() if v},
        ),
        (
            Format(
                "azure-ea",
                "azure",
                "Microsoft",
                _azure,
                REQUIRED,
                AZURE_REQUIRED,
                "an Azure EA cost export",
            ),
            set(AZURE_COLUMNS),
        ),
        (
            Format(
                "azure-mca",
                "azure",
                "Microsoft",
                _azure,
                REQUIRED,
                {k: tuple(n[0].lower() + n[1:] for n in v) for k, v in AZURE_REQUIRED.items()},
                "an Azure MCA cost export",
            ),
            {n[0].lower() + n[1:] for n in AZURE_COLUMNS},
        ),
        (
            Format(
                "gcp",
                "gcp",
                "Google Cloud",
                _gcp,
                REQUIRED,
                GCP_REQUIRED,
                "a GCP billing export",
            ),
            {v for n in GCP_COLUMNS for v in (n, n.replace(".", "_"))},
        ),
    ]


def _by_name(name: str) -> Format:
    return next(f for f, _ in _candidates() if f.name == name)


def _signature(header: list[str]) -> Format | None:
    cols = Columns(header)
    names = set(header)
    if cols.has("BilledCost", "EffectiveCost", "ChargePeriodStart", "BillingPeriodStart"):
        if "InvoiceId" in names or "PricingCurrency" in names or "BillingAccountType" in names:
            return _focus_format("1.2")
        if "ServiceSubcategory" in names or "SkuMeter" in names or "SkuPriceDetails" in names:
            return _focus_format("1.1")
        return _focus_format("1.0")
    if "lineItem/UnblendedCost" in names or "lineItem/LineItemType" in names:
        return _by_name("aws-cur")
    if "line_item_unblended_cost" in names or "line_item_line_item_type" in names:
        return _by_name("aws-cur2")
    if "costInBillingCurrency" in names:
        return _by_name("azure-mca")
    if cols.has("CostInBillingCurrency"):
        return _by_name("azure-ea")
    flat = {h.replace(".", "_").lower() for h in header}
    if {"billing_account_id", "cost", "usage_start_time"} <= flat and (
        "invoice_month" in flat or "service_description" in flat
    ):
        return _by_name("gcp")
    return None


def _shown(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (
        f", ... ({len(names)} columns)" if len(names) > limit else ""
    )


def detect(header: list[str]) -> Format:
    """The format of a file from its header; :class:`CostFileError` if none matches, naming
    the closest format's missing columns next to the file's own headers."""
    fmt = _signature(header)
    if fmt is None:
        folded = {h.lower() for h in header}
        exact = set(header)
        scored = [  # most columns in common (then in the same case: Azure EA vs MCA)
            (len({k.lower() for k in known} & folded), len(known & exact), -index, f)
            for index, (f, known) in enumerate(_candidates())
        ]
        score, _, _, closest = max(scored, key=lambda s: s[:3])
        if score < 3:
            raise CostFileError(
                "unknown cost file format: the header matches none of FOCUS 1.0-1.2, AWS CUR, "
                "AWS CUR 2.0, Azure EA/MCA or GCP billing export (the file's columns: "
                f"{_shown(header)})"
            )
        fmt = closest
    cols = Columns(header)
    missing = []
    for options in dict.fromkeys(fmt.columns.values()):
        if cols.name(*options) is None:
            missing.append(" or ".join(options))
    if missing:
        known = {k.lower() for f, ks in _candidates() if f.family == fmt.family for k in ks}
        unknown = [h for h in header if h.lower() not in known]
        squeezed = {re.sub(r"[^a-z0-9]", "", h.lower()): h for h in unknown}
        hints = []
        for options in missing:
            for option in options.split(" or "):
                wanted = re.sub(r"[^a-z0-9]", "", option.lower())
                close = difflib.get_close_matches(wanted, list(squeezed), n=1, cutoff=0.75)
                if close:
                    hints.append(f"is {squeezed[close[0]]!r} the {option} column?")
                    break
        raise CostFileError(
            f"line 1 (header): {fmt.label} needs the column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}, which the file does not "
            f"have{(' (' + ' '.join(hints) + ')') if hints else ''}; the file's columns: "
            f"{_shown(header)}"
        )
    return fmt


# ---------------------------------------------------------------------------- parsing
@dataclass
class ParsedFile:
    format: Format
    rows: list[dict[str, Any]]


def parse_file(path: Path) -> ParsedFile:
    """Read, detect and normalise every row; any bad row fails the whole file, with the line
    (as an editor numbers it: the header is line 1) and the column as the file names them."""
    fmt, rows = _normalised_rows(path)
    parsed = ParsedFile(fmt, list(rows))
    if not parsed.rows:
        raise CostFileError("the file has a header but no rows")
    return parsed


def check_file(path: Path) -> tuple[Format, int]:
    """What :func:`parse_file` would say about the file (its format and row count, or the
    :class:`CostFileError`), without holding its rows in memory."""
    fmt, rows = _normalised_rows(path)
    count = sum(1 for _ in rows)
    if not count:
        raise CostFileError("the file has a header but no rows")
    return fmt, count


def _normalised_rows(path: Path) -> tuple[Format, Iterator[dict[str, Any]]]:
    table = read_table(path)
    fmt = detect(table.header)
    return fmt, _normalise_rows(table, fmt)


def _normalise_rows(table: Table, fmt: Format) -> Iterator[dict[str, Any]]:
    cols = Columns(table.header)
    normalise = fmt.normalise(cols)
    for number, (where, values) in enumerate(table.rows(), 1):
        at = f"{table.unit} {where}"
        try:
            with localcontext(COST_CONTEXT):
                row = normalise(values)
        except CostValueError as exc:
            column = cols.name(exc.column) or exc.column
            raise CostFileError(f"{at}, column {column}: {exc.problem}") from None
        except CostFileError as exc:
            raise CostFileError(f"{at}: {exc}") from None
        missing = [c for c in fmt.required if row.get(c) is None]
        if missing:
            named = dict.fromkeys(
                " or ".join(n for o in fmt.columns.get(c, (c,)) if (n := cols.name(o)))
                or " or ".join(fmt.columns.get(c, (c,)))
                for c in missing
            )
            raise CostFileError(f"{at}: no value in column {', '.join(named)}")
        currency = row["billing_currency"]
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            column = cols.name(*fmt.columns["billing_currency"]) or "billing currency"
            raise CostFileError(
                f"{at}, column {column}: {currency!r} is not an ISO 4217 currency code"
            )
        row["billing_currency"] = currency.upper()
        if row["billing_period_end"] <= row["billing_period_start"]:
            raise CostFileError(f"{at}: the billing period ends before it starts")
        if row.get("provider_name") is None:
            row["provider_name"] = fmt.provider
        row["row_number"] = number
        row["source_format"] = fmt.name
        row["tags"] = json.dumps(row["tags"], sort_keys=True)
        yield row
