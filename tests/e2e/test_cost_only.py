"""A cost-only deployment: cost files, no meters, no broker. `billing run` lands the files,
builds the cost and allocation models (exact to the file's own totals) and skips usage with one
line; the API answers a re-uploaded file with what is true of the earlier upload."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.warehouse.connection import Warehouse
from api.main import create_app
from dagster_project.usage.assets import NO_METERS
from ingestion.broker import free_port
from tests.conftest import ADMIN_KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "costs"
AZURE = FIXTURES / "azure-ea-cad-scientific.csv"  # 27 rows, CAD, 6.65679E-09 and the like
ROOT = Path(__file__).resolve().parents[2]
BASE = "/api/v1/billing"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _file_total(path: Path, column: str) -> Decimal:
    """The file's own total of a column, summed exactly from its texts."""
    with open(path, encoding="utf-8-sig", newline="") as handle, localcontext(prec=100):
        return sum(
            (Decimal(row[column].replace(",", "")) for row in csv.DictReader(handle)), Decimal(0)
        )


@pytest.fixture(params=["duckdb", "postgres"])
def cost_only_run(request, make_settings, monkeypatch):
    """`billing run` (a real subprocess) with one Azure export and no meters; the broker
    address is a closed port, so the run proves it needs none."""
    overrides = {"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"}
    if request.param == "postgres":
        overrides["warehouse_url"] = request.getfixturevalue("pg_database")
    # make_settings creates the test topics on the shared broker, then the run points away.
    settings = make_settings().model_copy(update=overrides)
    for name, value in overrides.items():
        monkeypatch.setenv(f"BILLING_{name.upper()}", value)
    settings.cost_files_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(AZURE, settings.cost_files_path / "azure-november.csv")
    env = {**os.environ, "DO_NOT_TRACK": "1", "DAGSTER_DISABLE_TELEMETRY": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return settings, run


def test_cost_only_run_lands_allocates_and_answers_reuploads(cost_only_run):
    settings, run = cost_only_run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count(NO_METERS) == 1, run.stdout
    assert "no meters are defined" not in run.stdout + run.stderr
    assert "cost file azure-november.csv: landed, 27 rows" in run.stdout

    billed = _file_total(AZURE, "CostInBillingCurrency")
    quantity = _file_total(AZURE, "Quantity")
    with Warehouse(settings).connection() as con:
        focus = con.fetchone(
            'select count(*), sum("BilledCost"), sum("EffectiveCost"), sum("ConsumedQuantity"), '
            'min("BillingCurrency") from marts.fct_focus_costs'
        )
        coverage = con.fetchall(
            "select billing_period_start, currency, source_billed_cost, allocated_amount, "
            "unallocated_amount from marts.fct_cost_allocation_coverage"
        )
        daily = con.fetchone("select sum(effective_cost) from marts.fct_cloud_costs_daily")
    assert focus[0] == 27 and focus[4] == "CAD"
    assert (Decimal(focus[1]), Decimal(focus[2]), Decimal(focus[3])) == (billed, billed, quantity)
    assert Decimal(daily[0]) == billed
    # Allocated (all of it unallocated: no rules) and rounded to the cent only there.
    ((period, currency, source, allocated, unallocated),) = coverage
    assert (str(period), currency, Decimal(source)) == ("2026-11-01", "CAD", billed)
    assert Decimal(allocated) == Decimal(unallocated) == billed.quantize(Decimal("0.01"))

    content = AZURE.read_bytes()
    file_id = hashlib.sha256(content).hexdigest()
    with TestClient(create_app(settings)) as client:
        again = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("azure-again.csv", io.BytesIO(content), "text/csv")},
            headers=ADMIN,
        )
        assert again.status_code == 200, again.text
        body = again.json()
        assert (body["file_id"], body["status"], body["duplicate_of"]) == (
            file_id,
            "landed",
            "azure-november.csv",
        )
        assert (body["row_count"], Decimal(body["billed_cost"])) == (27, billed)
        # A new file waits (202); the same content again says it is that waiting upload.
        other = (FIXTURES / "azure-ea-actual.csv").read_bytes()
        first = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("september.csv", io.BytesIO(other), "text/csv")},
            headers=ADMIN,
        )
        assert (first.status_code, first.json()["status"]) == (202, "pending")
        second = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("september-copy.csv", io.BytesIO(other), "text/csv")},
            headers=ADMIN,
        )
        assert second.status_code == 200, second.text
        assert (second.json()["status"], second.json()["duplicate_of"]) == (
            "pending",
            "september.csv",
        )
        listed = client.get(f"{BASE}/cost-ingestion/files", headers=ADMIN).json()
        assert sorted((f["file_name"], f["status"]) for f in listed["data"]) == [
            ("azure-november.csv", "landed"),
            ("september.csv", "pending"),
        ]
        assert sorted(p.name for p in settings.cost_files_path.iterdir()) == [
            "azure-november.csv",
            "september.csv",
        ]
        # Landed content whose file has since left the directory is still that upload.
        (settings.cost_files_path / "azure-november.csv").unlink()
        gone = client.post(
            f"{BASE}/cost-ingestion/files",
            files={"file": ("azure-third.csv", io.BytesIO(content), "text/csv")},
            headers=ADMIN,
        )
        assert (gone.status_code, gone.json()["status"], gone.json()["duplicate_of"]) == (
            200,
            "landed",
            "azure-november.csv",
        )
    assert sorted(p.name for p in settings.cost_files_path.iterdir()) == ["september.csv"]
