"""The landed cost line: its columns and the one scale of cost values, from the file to the marts
(the contract of ``raw.cost_file_rows``, as ``billing.rules.events`` is the usage event's)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

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
