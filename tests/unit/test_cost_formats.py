"""Cloud cost files: format detection and normalisation (``ingestion/costs/formats.py``); their
landing on DuckDB and PostgreSQL is in tests/integration/test_cost_files.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ingestion.costs.formats import CostFileError, detect, parse_file, parse_time

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"


# file -> (format, rows, billed total, effective total) computed by hand from the fixtures.
EXPECTED = {
    "focus-1.0-sample.csv": ("focus-1.0", 48, "-0.15093141427", "-1.431951186"),
    "aws-cur-legacy.csv": ("aws-cur", 4, "26.0595", "26.1805"),
    "aws-cur2-sample.csv": ("aws-cur2", 5, "16.35", "22.75"),
    "azure-ea-actual.csv": ("azure-ea", 2, "4.144", "4.144"),
    "azure-mca-actual.csv": ("azure-mca", 2, "2.85", "2.85"),
    "gcp-billing-export.csv": ("gcp", 3, "5.15", "4.45"),
    "gcp-billing-export.jsonl": ("gcp", 2, "4.75", "4.05"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_is_detected_and_normalised(name):
    fmt, rows, billed, effective = EXPECTED[name]
    parsed = parse_file(FIXTURES / name)
    assert parsed.format.name == fmt
    assert len(parsed.rows) == rows
    assert sum(r["billed_cost"] for r in parsed.rows) == Decimal(billed)
    assert sum(r["effective_cost"] for r in parsed.rows) == Decimal(effective)
    for row in parsed.rows:
        assert row["billing_period_start"] < row["billing_period_end"]
        assert isinstance(json.loads(row["tags"]), dict)


def test_cur_effective_cost_follows_the_line_type():
    rows = parse_file(FIXTURES / "aws-cur2-sample.csv").rows
    by_type = {r["charge_type"]: r for r in rows}
    # Savings-plan covered usage at its effective cost, the negation at zero.
    assert by_type["SavingsPlanCoveredUsage"]["effective_cost"] == Decimal("6.40")
    assert by_type["SavingsPlanNegation"]["billed_cost"] == Decimal("-8")
    assert by_type["SavingsPlanNegation"]["effective_cost"] == 0
    # Tags from the resource_tags map and from the flattened resource_tags_user_* columns.
    assert json.loads(rows[0]["tags"]) == {"team": "payments"}
    assert json.loads(rows[1]["tags"]) == {"team": "search"}
    legacy = parse_file(FIXTURES / "aws-cur-legacy.csv").rows
    assert legacy[1]["effective_cost"] == Decimal("0.121")  # reservation/EffectiveCost
    assert json.loads(legacy[2]["tags"]) == {"env": "dev", "aws:createdBy": "alice"}  # NULL dropped


def test_focus_quirks_null_strings_and_zoneless_times():
    rows = parse_file(FIXTURES / "focus-1.0-sample.csv").rows
    first = rows[0]
    assert first["charge_period_start"] == datetime(2024, 9, 18, 22)
    assert first["resource_name"] is None  # the literal NULL
    assert first["tags"] == "{}"
    assert parse_time("2024-09-01T02:00:00+02:00", "t") == datetime(2024, 9, 1)
    assert parse_time("2024-09-01 00:00:00 UTC", "t") == datetime(2024, 9, 1)
    assert parse_time("09/30/2024", "t") == datetime(2024, 9, 30)


def test_azure_periods_are_end_exclusive_and_tags_without_braces_parse():
    ea = parse_file(FIXTURES / "azure-ea-actual.csv").rows
    assert ea[0]["billing_period_end"] == datetime(2024, 10, 1)
    assert ea[0]["charge_period_end"] == datetime(2024, 9, 2)
    assert json.loads(ea[0]["tags"]) == {"team": "payments", "env": "prod"}
    assert ea[0]["list_cost"] == Decimal("2.88")  # PayGPrice x Quantity
    mca = parse_file(FIXTURES / "azure-mca-actual.csv").rows
    assert mca[0]["billing_currency"] == "EUR"
    assert mca[0]["list_cost"] == Decimal("2.3")


def _csv(name: str) -> list[list[str]]:
    with open(FIXTURES / name, newline="") as handle:
        return list(csv.reader(handle))


def test_focus_versions_and_parquet(tmp_path):
    header = _csv("focus-1.0-sample.csv")[0]
    assert detect(header).name == "focus-1.0"
    assert detect([*header, "ServiceSubcategory"]).name == "focus-1.1"
    assert detect([*header, "ServiceSubcategory", "InvoiceId", "PricingCurrency"]).name == (
        "focus-1.2"
    )
    parsed = parse_file(_focus_parquet(tmp_path / "focus.parquet"))
    assert parsed.format.name == "focus-1.2"
    assert sum(r["effective_cost"] for r in parsed.rows) == Decimal("-1.431951186")


def _focus_parquet(path: Path) -> Path:
    """The FOCUS 1.0 sample as a FOCUS 1.2 Parquet export (every column a string, as the
    sample has them, plus InvoiceId)."""
    header = _csv("focus-1.0-sample.csv")[0]
    table = pacsv.read_csv(
        FIXTURES / "focus-1.0-sample.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=False
        ),
    )
    table = table.append_column("InvoiceId", pa.array(["inv-1"] * table.num_rows))
    pq.write_table(table, path)
    return path


def test_thousands_of_tag_columns(tmp_path):
    tags = [f"resourceTags/user:tag{i:04d}" for i in range(3000)]
    header = _csv("aws-cur-legacy.csv")[0]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header + tags)
    for row in _csv("aws-cur-legacy.csv")[1:]:
        extra = [""] * len(tags)
        extra[2999] = "last"
        writer.writerow(row + extra)
    path = tmp_path / "wide.csv"
    path.write_text(out.getvalue())
    rows = parse_file(path).rows
    assert json.loads(rows[0]["tags"])["tag2999"] == "last"
    assert len(json.loads(rows[0]["tags"])) == 3  # team, env, tag2999


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("focus-broken.csv", "line 4, column BilledCost: '12,34x' is not a number"),
        ("unknown-format.csv", "unknown cost file format"),
    ],
)
def test_broken_and_unknown_files_explain_why(name, message):
    with pytest.raises(CostFileError, match=message.replace("(", r"\(")):
        parse_file(FIXTURES / name)
