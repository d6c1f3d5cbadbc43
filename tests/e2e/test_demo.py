"""`billing demo` end to end: it starts everything, serves data, and SIGTERM (as Ctrl-C) stops
it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ingestion.broker import free_port
from tests.e2e.proc_tree import alive, command_line, descendants, wait_until

ROOT = Path(__file__).resolve().parents[2]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_serves_the_api_and_dagster_and_stops_on_sigterm(tmp_path):
    broker, api, dagster = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "BILLING_DATA_DIR": str(tmp_path / "demo"),
        "BILLING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker}",
        "BILLING_API_PORT": str(api),
        "BILLING_DAGSTER_PORT": str(dagster),
        "BILLING_LOG_LEVEL": "WARNING",
    }
    env.pop("DAGSTER_HOME", None)
    for name in (
        "BILLING_WAREHOUSE_URL",
        "BILLING_CONTROL_DB_URL",
        "BILLING_USAGE_TOPIC",
        "BILLING_ADMIN_API_KEY",
        "BILLING_LANDING_CONSUMER_NAME",
        "STRIPE_API_KEY",
        "STRIPE_API_BASE",
        "STRIPE_WEBHOOK_SECRET",
    ):
        env.pop(name, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--events", "4000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(output)
        assert "Ctrl-C stops everything" in text, text[-3000:]
        tenant_key = re.search(r"tenant key\s+(\S+)", text).group(1)
        admin_key = re.search(r"admin key\s+(\S+)", text).group(1)
        base = f"http://127.0.0.1:{api}/api/v1/billing"
        for _ in range(120):  # the API and Dagster start in the background
            if port_open(api) and port_open(dagster):
                break
            time.sleep(0.5)
        usage = httpx.get(
            f"{base}/usage?granularity=period", headers={"X-API-Key": tenant_key}, timeout=10
        ).json()
        assert usage["count"] > 0 and {r["tenant_id"] for r in usage["data"]} == {"tenant-001"}
        subs = httpx.get(
            f"{base}/subscriptions", headers={"X-API-Key": admin_key}, timeout=10
        ).json()
        assert subs["count"] == 40
        # Cloud costs: the sample files landed and last month's cost is allocated.
        files = httpx.get(
            f"{base}/cost-ingestion/files", headers={"X-API-Key": admin_key}, timeout=10
        ).json()
        # (the two public samples, last month's FOCUS file and the dashboard's daily costs)
        assert {f["status"] for f in files["data"]} == {"landed"} and files["count"] == 4
        costs = httpx.get(
            f"{base}/costs/cost-centers", headers={"X-API-Key": admin_key}, timeout=10
        ).json()
        assert {"payments", "search", "platform"} <= {c["cost_center"] for c in costs["data"]}
        forecast = httpx.get(
            f"{base}/cost-dashboard/costs/forecast", headers={"X-API-Key": admin_key}, timeout=10
        ).json()
        assert forecast["totals"] and forecast["totals"][0]["currency"] == "USD"
        assert "/dashboard" in text
        page = httpx.get(f"http://127.0.0.1:{api}/dashboard", timeout=10)
        assert page.status_code == 200 and "chart.umd.js" in page.text
        assert httpx.get(f"http://127.0.0.1:{dagster}/server_info", timeout=10).status_code == 200
        # The real-time consumer started with the demo counts this month's usage.
        for _ in range(120):
            cost = httpx.get(
                f"{base}/realtime-cost/tenant-001", headers={"X-API-Key": tenant_key}, timeout=10
            ).json()
            if cost["usage"].get("api_calls"):
                break
            time.sleep(0.5)
        assert cost["usage"]["api_calls"] and cost["currency"] == "USD", cost
        check = httpx.get(
            f"{base}/quotas/tenant-001/check?meter=api_calls&quantity=1",
            headers={"X-API-Key": tenant_key},
            timeout=10,
        ).json()
        assert check["allowed"] and check["used"] == cost["usage"]["api_calls"]
        # Last month's invoices (finalized once its grace passed) were collected through
        # localstripe: some paid, some declined (webhooks arrive within a few seconds).
        if datetime.now(UTC).day >= 2:
            statuses: set = set()
            for _ in range(60):
                invoices = httpx.get(
                    f"{base}/invoices?status=finalized&limit=1000",
                    headers={"X-API-Key": admin_key},
                    timeout=10,
                ).json()["data"]
                statuses = {i["payment_status"] for i in invoices}
                if {"paid", "payment_failed"} <= statuses:
                    break
                time.sleep(0.5)
            assert {"paid", "payment_failed", "requires_payment_method"} <= statuses, statuses
    finally:
        started = descendants(demo.pid)  # broker, localstripe, API, consumer, Dagster's processes
        demo.send_signal(signal.SIGTERM)  # the demo alone, as `kill <pid>` or systemd would
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    assert demo.returncode == 0
    assert len(started) >= 5, [command_line(pid) for pid, _ in started]
    assert wait_until(lambda: not alive(started), 10), [
        command_line(pid) for pid, _ in alive(started)
    ]
    time.sleep(1)
    assert not port_open(broker) and not port_open(api) and not port_open(dagster)
