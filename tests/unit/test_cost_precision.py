"""Cost files as vendors write them: every decimal notation at full precision, and errors in
the file's own terms (its line numbers as an editor shows them, its column headers); landing
them at full precision is in tests/integration/test_cost_precision.py."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
import yaml

from ingestion.costs.formats import (
    COST_INTEGER_DIGITS,
    COST_PLACES,
    CostFileError,
    check_file,
    parse_decimal,
    parse_file,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"
AZURE = FIXTURES / "azure-ea-cad-scientific.csv"  # 27 rows, CAD, exponents, a BOM, CRLF


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("6.65679E-09", "0.00000000665679"),
        ("1.2e+3", "1200"),
        ("1E-20", "0.00000000000000000001"),
        ("+0.5", "0.5"),
        ("-3.5E-2", "-0.035"),
        ("2.304000000000000000", "2.304"),
        ("0.12345678901234567891", "0.12345678901234567891"),  # 20 places: kept
        ("1,234,567.891", "1234567.891"),
        (".5", "0.5"),
        ("7.", "7"),
        (" 42 ", "42"),
        # More than COST_PLACES places: half-even at the storage scale.
        ("0.000000000000000000025", "0.00000000000000000002"),
        ("0.000000000000000000035", "0.00000000000000000004"),
        ("1E-30", "0"),
        ("0E+30", "0"),
        ("-0.0E-5", "0"),
        (6.65679e-09, "0.00000000665679"),  # a float (Parquet): the digits it prints
        (Decimal("1.5E-7"), "0.00000015"),  # JSON read with parse_float=Decimal
    ],
)
def test_every_vendor_notation_is_read_exactly(text, value):
    assert parse_decimal(text, "c") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "is not a number"),
        ("12,34x", "is not a number"),
        ("1_000", "is not a number"),
        ("1.2.3", "is not a number"),
        ("1e", "is not a number"),
        ("Infinity", "is not a number"),
        ("12,34", "is not a number"),  # not a thousands grouping
        ("1,234", "is not a number"),  # a decimal comma or a thousands one: not guessed
        ("1E+18", "is too large"),
        ("999999999999999999.999999999999999999999", "is too large"),  # rounds to 10^18
        ("1E+99999999999999999999", "is out of range"),
    ],
)
def test_what_is_not_a_cost_is_refused(text, problem):
    with pytest.raises(CostFileError, match=re.escape(f"column c: '{text}' {problem}")):
        parse_decimal(text, "c")
    assert COST_PLACES + COST_INTEGER_DIGITS == 38


def _exact_column_total(path: Path, column: str) -> Decimal:
    """The file's own total of a column: its texts as Python reads numbers, summed exactly."""
    with open(path, encoding="utf-8-sig", newline="") as handle, localcontext(prec=100):
        return sum(
            (Decimal(row[column].replace(",", "")) for row in csv.DictReader(handle)), Decimal(0)
        )


def test_a_real_shaped_azure_export_keeps_every_digit():
    parsed = parse_file(AZURE)
    assert (parsed.format.name, len(parsed.rows)) == ("azure-ea", 27)
    assert {r["billing_currency"] for r in parsed.rows} == {"CAD"}
    assert sum(r["billed_cost"] for r in parsed.rows) == _exact_column_total(
        AZURE, "CostInBillingCurrency"
    )
    assert sum(r["consumed_quantity"] for r in parsed.rows) == _exact_column_total(
        AZURE, "Quantity"
    )
    assert parsed.rows[0]["billed_cost"] == Decimal("6.65679E-9")
    assert check_file(AZURE)[1] == 27


def _write(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(("\ufeff" if bom else "") + out.getvalue(), encoding="utf-8")
    return path


def _azure_rows() -> tuple[list[str], list[list[str]]]:
    with open(AZURE, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_a_bad_value_names_the_editor_line_and_the_files_column(tmp_path):
    header, rows = _azure_rows()
    cost = header.index("CostInBillingCurrency")
    rows[0][header.index("ProductName")] = "Virtual Machines\nD2 v3"  # spans lines 2 and 3
    rows[5][cost] = "abc"  # the sixth data row: line 8 (line 2-3, then 4, 5, 6, 7, 8)
    path = _write(tmp_path / "bad.csv", header, rows, bom=True)
    with pytest.raises(CostFileError) as raised:
        parse_file(path)
    assert str(raised.value) == "line 8, column CostInBillingCurrency: 'abc' is not a number"
    with pytest.raises(CostFileError, match="^line 8, column CostInBillingCurrency"):
        check_file(path)

    # The file's own spelling of a column (matched case-insensitively) is the one named.
    lowered = [h.lower() if h == "CostInBillingCurrency" else h for h in header]
    path = _write(tmp_path / "lower.csv", lowered, rows)
    with pytest.raises(CostFileError, match="^line 8, column costinbillingcurrency: 'abc'"):
        parse_file(path)

    rows[5][cost] = ""
    path = _write(tmp_path / "empty.csv", header, rows)
    with pytest.raises(CostFileError, match="^line 8: no value in column CostInBillingCurrency$"):
        parse_file(path)


def test_a_renamed_or_missing_column_names_the_expected_and_the_files_headers(tmp_path):
    header, rows = _azure_rows()
    renamed = ["Cost In Billing Currency" if h == "CostInBillingCurrency" else h for h in header]
    path = _write(tmp_path / "renamed.csv", renamed, rows)
    with pytest.raises(CostFileError) as raised:
        parse_file(path)
    message = str(raised.value)
    assert message.startswith(
        "line 1 (header): an Azure EA cost export needs the column CostInBillingCurrency, "
        "which the file does not have (is 'Cost In Billing Currency' the "
        "CostInBillingCurrency column?); the file's columns: InvoiceSectionName, AccountName"
    )

    mca = [h[0].lower() + h[1:] for h in renamed]  # camelCase: an MCA export
    with pytest.raises(
        CostFileError, match="an Azure MCA cost export needs the column costInBillingCurrency,"
    ):
        parse_file(_write(tmp_path / "mca.csv", mca, rows))

    with open(FIXTURES / "focus-1.0-sample.csv", newline="") as handle:
        focus = list(csv.reader(handle))[:3]
    keep = [i for i, c in enumerate(focus[0]) if c != "BillingCurrency"]
    path = _write(
        tmp_path / "focus.csv",
        [focus[0][i] for i in keep],
        [[row[i] for i in keep] for row in focus[1:]],
    )
    with pytest.raises(CostFileError, match="a FOCUS 1.0 export needs the column BillingCurrency,"):
        parse_file(path)


def test_one_cost_scale_from_landing_to_the_contracts():
    """The Python constant (landing) and the dbt macro (models) are the same type, and every
    contracted cost amount of the cost marts is declared in it."""
    from ingestion.costs.formats import COST_TYPE

    dbt = Path(__file__).resolve().parents[2] / "dbt_project"
    macro = (dbt / "macros" / "cost_lines.sql").read_text()
    body = re.search(r"macro cost_amount_type\(\) -%}\s*(.*?)\s*{%- endmacro", macro, re.S)
    assert body is not None and body.group(1) == COST_TYPE[1] == f"numeric(38, {COST_PLACES})"
    # The old scale is left only for the control plane's budgets (money of the API: 12 places).
    for yml in ("marts/costs/_costs__models.yml", "marts/dashboards/_dashboards__models.yml"):
        models = yaml.safe_load((dbt / "models" / yml).read_text())["models"]
        old_scale = [
            (m["name"], c["name"])
            for m in models
            for c in m.get("columns", [])
            if c.get("data_type") == "numeric(38, 12)" and "budget" not in c["name"]
        ]
        assert old_scale == [], old_scale
