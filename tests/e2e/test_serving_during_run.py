"""The API keeps answering, without errors, while a pipeline run writes the DuckDB warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from adapters.kafka import produce_messages
from adapters.synthetic.usage import SyntheticPlan, generate
from api.main import create_app
from billing.rules.meters import DEMO_METERS
from tests.conftest import ADMIN_KEY, run_pipeline, seed_meters

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"X-API-Key": ADMIN_KEY}


def warehouse_is_locked(path: Path) -> bool:
    """Whether some process holds DuckDB's write lock on ``path``, read from /proc/locks
    (opening the file to find out would take a lock and get in the writer's way)."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "WRITE" in fields and any(f.endswith(f":{inode}") for f in fields):
            return True
    return False


def test_api_answers_while_a_run_writes_the_warehouse(settings):
    seed_meters(settings, DEMO_METERS)
    produce_messages(
        settings,
        generate(
            SyntheticPlan(
                datetime(2026, 9, 1), datetime(2026, 9, 20), tenants=5, events=2_000, seed=1
            )
        ),
    )
    run_pipeline(settings)  # a first snapshot to serve
    produce_messages(
        settings,
        generate(
            SyntheticPlan(
                datetime(2026, 10, 1), datetime(2026, 11, 1), tenants=20, events=150_000, seed=2
            )
        ),
    )
    path = "/api/v1/billing/usage?granularity=period&meter=api_calls&limit=1000"
    with TestClient(create_app(settings)) as client:
        before = client.get(path, headers=HEADERS).json()
        assert before["count"] > 0
        writer = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "run"],
            cwd=ROOT,
            env={**os.environ, "BILLING_LOG_LEVEL": "WARNING"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        statuses, as_of, totals, locked_seen, requests_while_locked = [], set(), set(), 0, 0
        while writer.poll() is None:
            locked = warehouse_is_locked(settings.duckdb_path)
            started = time.monotonic()
            response = client.get(path, headers=HEADERS)
            elapsed = time.monotonic() - started
            statuses.append(response.status_code)
            body = response.json()
            as_of.add(body["as_of"])
            totals.add(sum(float(r["quantity"]) for r in body["data"]))
            if locked:
                locked_seen += 1
                requests_while_locked += 1
                # The writer's transactions last seconds; a read that waited for the lock would
                # take that long or fail. Two busy cores can still slow a read a little.
                assert elapsed < 5.0, f"a read waited {elapsed:.2f}s on the writer"
        output = writer.stdout.read()
        assert writer.returncode == 0, output
        after = client.get(path, headers=HEADERS).json()
    assert set(statuses) == {200}
    assert locked_seen >= 5, "the run never held the warehouse while we read; test proves nothing"
    assert requests_while_locked >= 5
    # Every answer came from a whole snapshot: the old one or the new one, nothing in between.
    assert as_of <= {before["as_of"], after["as_of"]}
    old_total = sum(float(r["quantity"]) for r in before["data"])
    new_total = sum(float(r["quantity"]) for r in after["data"])
    assert new_total > old_total
    assert totals <= {old_total, new_total}
