"""Cloud cost files: landing (DuckDB and PostgreSQL); format detection and normalisation are in
tests/unit/test_cost_formats.py."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.warehouse.connection import Warehouse
from ingestion.costs.landing import CostFileLander, file_hash
from tests.unit.test_cost_formats import EXPECTED, _focus_parquet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"


# ----------------------------------------------------------------------------- landing
@pytest.fixture(params=["duckdb", "postgres"])
def cost_settings(request, make_settings):
    if request.param == "postgres":
        return make_settings(warehouse_url=request.getfixturevalue("pg_database"))
    return make_settings()


def _drop(settings, name: str, as_name: str | None = None) -> Path:
    directory = settings.cost_files_path
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (as_name or name)
    shutil.copy(FIXTURES / name, target)
    return target


def _files(settings) -> dict[str, tuple]:
    with Warehouse(settings).connection() as con:
        rows = con.fetchall(
            "select file_name, status, row_count, error, source_format, superseded_by, "
            "effective_cost_total, file_id from raw.cost_files order by landed_seq"
        )
    return {r[0]: r[1:] for r in rows}


def _row_count(settings) -> int:
    with Warehouse(settings).connection() as con:
        return con.fetchone("select count(*) from raw.cost_file_rows")[0]


def test_landing_redelivery_correction_and_broken_file(cost_settings):
    settings = cost_settings
    lander = CostFileLander(settings)
    for name in EXPECTED:
        _drop(settings, name)
    _drop(settings, "focus-broken.csv")
    _drop(settings, "unknown-format.csv")
    results = lander.land_pending()
    assert len(results) == len(EXPECTED) + 2
    files = _files(settings)
    for name, (fmt, rows, _billed, effective) in EXPECTED.items():
        status, count, error, source_format, _by, total, _id = files[name]
        assert (source_format, count, error) == (fmt, rows, None)
        assert Decimal(total) == Decimal(effective)
    # The GCP CSV and JSON exports cover the same account and month: the later one wins.
    assert files["gcp-billing-export.csv"][0] == "superseded"
    assert files["gcp-billing-export.csv"][4] == files["gcp-billing-export.jsonl"][6]
    assert files["focus-broken.csv"][:3] == (
        "failed",
        0,
        "line 4, column BilledCost: '12,34x' is not a number",
    )
    assert files["unknown-format.csv"][0] == "failed"
    total_rows = sum(e[1] for e in EXPECTED.values())
    assert _row_count(settings) == total_rows

    # Nothing new: a second pass lands nothing; the same file delivered again (under another
    # name) replaces its own rows and never duplicates them.
    assert lander.land_pending() == []
    again = _drop(settings, "aws-cur2-sample.csv", "cur2-redelivered.csv")
    result = lander.land_file(again)
    assert result.replaced and result.row_count == 5
    assert _row_count(settings) == total_rows
    assert len(_files(settings)) == len(EXPECTED) + 2

    # A corrected export of the same billing period supersedes the older one.
    corrected = (FIXTURES / "aws-cur-legacy.csv").read_text().replace(",2.40,2.40,", ",2.50,2.50,")
    path = settings.cost_files_path / "cur-legacy-corrected.csv"
    path.write_text(corrected)
    (landed,) = lander.land_pending()
    assert landed.status == "landed"
    files = _files(settings)
    assert files["aws-cur-legacy.csv"][0] == "superseded"
    assert files["aws-cur-legacy.csv"][4] == file_hash(path)
    # Re-delivering the old export keeps its order: it does not undo the correction.
    lander.land_file(settings.cost_files_path / "aws-cur-legacy.csv")
    assert _files(settings)["aws-cur-legacy.csv"][0] == "superseded"


def _build_cost_models(settings, tmp_path: Path) -> None:
    """Snapshot the control plane and build the cost models, as the pipeline does."""
    import os
    import subprocess

    from adapters.warehouse.control_snapshot import snapshot_control_plane
    from billing.control_plane.db import migrate
    from dagster_project.transform.project import DBT_PROJECT_DIR, dbt_executable

    migrate(settings)
    snapshot_control_plane(settings)
    result = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            "currencies tag:costs",
            # Unit costs divide by usage (dim_meters, the usage marts): not built here, and
            # tested end to end in test_cost_dashboard.
            "--exclude",
            "fct_meter_unit_costs",
            "--exclude-resource-type",
            "unit_test",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "dbt-target"),
            "--log-path",
            str(tmp_path / "dbt-logs"),
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_format_reaches_the_unified_focus_model(cost_settings, tmp_path):
    """Each format end to end: landed, staged per provider, unified, allocated (everything
    unallocated without rules), with the corrected and superseded files left out."""
    settings = cost_settings
    for name in EXPECTED:
        _drop(settings, name)
    _drop(settings, "focus-broken.csv")
    lander = CostFileLander(settings)
    lander.land_pending()
    corrected = (FIXTURES / "aws-cur-legacy.csv").read_text().replace(",2.40,2.40,", ",2.50,2.50,")
    (settings.cost_files_path / "cur-legacy-corrected.csv").write_text(corrected)
    lander.land_pending()
    _build_cost_models(settings, tmp_path)
    with Warehouse(settings).connection() as con:
        totals = {
            r[0]: (r[1], Decimal(r[2]), Decimal(r[3]))
            for r in con.fetchall(
                'select x_source_format, count(*), sum("EffectiveCost"), sum("BilledCost") '
                "from marts.fct_focus_costs group by x_source_format"
            )
        }
        categories = dict(
            con.fetchall(
                'select x_source_charge_type, "ChargeCategory" from marts.fct_focus_costs '
                "where x_source_format in ('aws-cur', 'aws-cur2', 'gcp')"
            )
        )
        coverage = con.fetchall(
            "select billing_period_start, currency, allocated_amount, unallocated_amount "
            "from marts.fct_cost_allocation_coverage order by 1, 2"
        )
    assert totals == {
        "focus-1.0": (48, Decimal("-1.431951186"), Decimal("-0.15093141427")),
        "aws-cur": (4, Decimal("26.2805"), Decimal("26.1595")),  # the corrected tax 2.50
        "aws-cur2": (5, Decimal("22.75"), Decimal("16.35")),
        "azure-ea": (2, Decimal("4.144"), Decimal("4.144")),
        "azure-mca": (2, Decimal("2.85"), Decimal("2.85")),
        "gcp": (2, Decimal("4.05"), Decimal("4.75")),  # the JSON export superseded the CSV
    }
    assert categories["SavingsPlanCoveredUsage"] == "Usage"
    assert categories["SavingsPlanNegation"] == "Credit"
    assert categories["Tax"] == "Tax"
    assert categories["regular"] == "Usage"
    # September 2024 USD: -1.431951186 (FOCUS, Sept.) + 26.2805 + 4.144 + 4.05 = 33.042548814
    # -> 33.04, all unallocated (no rules); FOCUS's one October line is 0.
    assert [(str(r[0]), r[1], Decimal(r[2]), Decimal(r[3])) for r in coverage] == [
        ("2024-04-01", "USD", Decimal("22.75"), Decimal("22.75")),
        ("2024-09-01", "EUR", Decimal("2.85"), Decimal("2.85")),
        ("2024-09-01", "USD", Decimal("33.04"), Decimal("33.04")),
        ("2024-10-01", "USD", Decimal("0"), Decimal("0")),
    ]


def test_focus_parquet_reaches_the_unified_focus_model(cost_settings, tmp_path):
    """A Parquet export end to end: landed, staged, unified, with the CSV sample's totals."""
    settings = cost_settings
    settings.cost_files_path.mkdir(parents=True, exist_ok=True)
    _focus_parquet(settings.cost_files_path / "focus-export.parquet")
    CostFileLander(settings).land_pending()
    _build_cost_models(settings, tmp_path)
    with Warehouse(settings).connection() as con:
        files = con.fetchall("select source_format, status, row_count from raw.cost_files")
        totals = con.fetchone(
            'select count(*), sum("EffectiveCost"), sum("BilledCost") from marts.fct_focus_costs'
        )
    assert files == [("focus-1.2", "landed", 48)]
    assert (totals[0], Decimal(totals[1]), Decimal(totals[2])) == (
        48,
        Decimal("-1.431951186"),
        Decimal("-0.15093141427"),
    )
