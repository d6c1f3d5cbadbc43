"""The warehouse rates each period with the definitions then in force: plan versions and
subscription phases from the control plane, usage from Kafka, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from adapters.warehouse.connection import Warehouse
from api.main import create_app
from tests.conftest import ADMIN_KEY, cloud_event, produce, run_pipeline, seed_meters
from tests.plans import per_unit, plan, tiered

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"


@pytest.fixture(params=["duckdb", "postgres"])
def target_settings(request, make_settings):
    if request.param == "duckdb":
        return make_settings()
    return make_settings(warehouse_url=request.getfixturevalue("pg_database"))


def definition(unit_amount: str) -> dict:
    """Plan pro's definition, without its code (as PUT /plans/pro takes it)."""
    body = plan(
        "pro",
        "Pro",
        {"amount": "10"},
        per_unit("calls", unit_amount),
        tiered("value_sum", "volume", ("100", "0.10"), (None, "0.05", "1")),
    )
    del body["code"]
    return body


def test_each_subscription_is_rated_with_its_plan_version(target_settings):
    seed_meters(target_settings)
    with TestClient(create_app(target_settings)) as client:
        assert (
            client.post(
                f"{BASE}/plans", json={"code": "pro", **definition("1.00")}, headers=ADMIN
            ).status_code
            == 201
        )
        a = client.post(
            f"{BASE}/subscriptions",
            headers=ADMIN,
            json={"tenant_id": "tenant-a", "plan_code": "pro", "start_at": "2026-10-01T00:00:00Z"},
        ).json()
        # Used by a subscription: the edit becomes version 2; tenant-a keeps version 1.
        v2 = client.put(f"{BASE}/plans/pro", json=definition("2.00"), headers=ADMIN).json()
        assert v2["version"] == 2
        b = client.post(
            f"{BASE}/subscriptions",
            headers=ADMIN,
            json={"tenant_id": "tenant-b", "plan_code": "pro", "start_at": "2026-10-01T00:00:00Z"},
        ).json()
    events = []
    for tenant in ("tenant-a", "tenant-b"):
        for i in range(3):  # 3 calls, values 40 + 40 + 40 = 120 -> volume tier 2
            events.append(
                cloud_event(
                    f"{tenant}-{i}",
                    tenant,
                    datetime(2026, 10, 5 + i),
                    {"value": 40, "user_id": "u", "region": "eu"},
                )
            )
    produce(target_settings, events)
    run_pipeline(target_settings)
    with Warehouse(target_settings).connection() as con:
        rows = con.fetchall(
            "select subscription_id, meter_key, quantity, amount "
            "from intermediate.int_usage_charges_rated "
            "where period_start = cast('2026-10-01' as date) order by subscription_id, meter_key"
        )
        history = con.fetchall(
            "select version from snapshots.snp_control_plane__plans where code = 'pro' "
            "order by version"
        )
    rated = {(s, m): (q, amount) for s, m, q, amount in rows}
    assert rated[(a["id"], "calls")] == (3, Decimal("3.00"))  # v1: 1.00 per call
    assert rated[(b["id"], "calls")] == (3, Decimal("6.00"))  # v2: 2.00 per call
    # volume: all 120 units at the second tier's 0.05, plus its flat 1 -> 7.00
    assert rated[(a["id"], "value_sum")] == (120, Decimal("7.00"))
    assert [v for (v,) in history] == [1, 2]  # the warehouse keeps both versions
