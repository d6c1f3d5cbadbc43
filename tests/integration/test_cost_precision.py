"""Cost files landed at full precision: a warehouse at the old scale widened first, file totals
past 28 digits; the parsing is in tests/unit/test_cost_precision.py."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from tests.unit.test_cost_precision import AZURE, _exact_column_total, _write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"


def test_a_warehouse_landed_at_the_old_scale_is_widened_before_landing(make_settings):
    from adapters.warehouse.connection import Warehouse
    from ingestion.costs.landing import CostFileLander

    settings = make_settings()
    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    with warehouse.connection() as con:  # as created before costs kept 20 decimals
        for column in ("billed_cost", "effective_cost", "list_cost", "contracted_cost"):
            con.execute(
                f"alter table raw.cost_file_rows alter column {column} type decimal(38, 12)"
            )
        con.execute(
            "alter table raw.cost_files alter column billed_cost_total type decimal(38, 12)"
        )
    settings.cost_files_path.mkdir(parents=True, exist_ok=True)
    (settings.cost_files_path / "azure.csv").write_bytes(AZURE.read_bytes())
    (landed,) = CostFileLander(settings).land_pending()
    assert landed.status == "landed"
    total = _exact_column_total(AZURE, "CostInBillingCurrency")
    with warehouse.connection() as con:
        rows = con.fetchone("select sum(billed_cost) from raw.cost_file_rows")[0]
        file_total = con.fetchone("select billed_cost_total from raw.cost_files")[0]
    assert Decimal(rows) == Decimal(file_total) == total


def test_file_totals_keep_every_digit_past_28(make_settings):
    """29+ significant digits (9 integer, 20 decimal): past Python's default decimal context."""
    from adapters.warehouse.connection import Warehouse
    from ingestion.costs.landing import CostFileLander

    with open(FIXTURES / "focus-1.0-sample.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))[:4]
    costs = ("123456789.12345678901234567891", "+9.87654321E+8", "1E-20")
    for row, cost in zip(rows, costs, strict=True):
        row[header.index("BilledCost")] = row[header.index("EffectiveCost")] = cost
    settings = make_settings()
    settings.cost_files_path.mkdir(parents=True, exist_ok=True)
    _write(settings.cost_files_path / "big.csv", header, rows)
    (landed,) = CostFileLander(settings).land_pending()
    assert landed.status == "landed", landed.error
    with Warehouse(settings).connection() as con:
        total = con.fetchone("select billed_cost_total from raw.cost_files")[0]
    assert Decimal(total) == Decimal("1111111110.12345678901234567892")
