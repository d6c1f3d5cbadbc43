"""Cost dashboard endpoints on DuckDB and PostgreSQL, against figures computed by hand.

September 2026; plan `basic`: base fee 10.00 in advance, calls at 1.00 each.
  tenant-a  3 calls                         -> 10 + 3 = 13.00
  tenant-b  5 calls, 20% off once           -> 10 + 5 = 15.00 - 3.00 = 12.00
Revenue for September: 25.00 over 2 finalized invoices.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import ADMIN_KEY, cloud_event, produce, run_pipeline, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
DASH = f"{BASE}/cost-dashboard"
SEP = "2026-09-01"

BASIC = {
    "code": "basic",
    "name": "Basic",
    "currency": "USD",
    "base_fee": {"amount": "10", "timing": "in_advance"},
    "charges": [{"meter": "calls", "price": {"model": "per_unit", "unit_amount": "1"}}],
}


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def target_settings(request, make_settings):
    if request.param == "duckdb":
        return make_settings()
    return make_settings(warehouse_url=request.getfixturevalue("pg_database"))


def past_grace(settings):
    """Settings under which September is due for finalization, but October is not."""
    now = datetime.now(UTC).replace(tzinfo=None)
    hours = int((now - datetime(2026, 10, 1)).total_seconds() // 3600) - 1
    return settings.model_copy(update={"grace_period_hours": hours})


def calls(tenant: str, count: int) -> list[dict]:
    return [
        cloud_event(
            f"{tenant}-{i}",
            tenant,
            datetime(2026, 9, 5, 12, i),
            {"value": 1, "user_id": "u", "region": "eu"},
        )
        for i in range(count)
    ]


def test_dashboard_endpoints(target_settings):
    settings = target_settings
    seed_meters(settings)
    clock = Clock(datetime(2026, 9, 1))
    app = create_app(settings)
    app.state.clock = clock
    with TestClient(app) as client:

        def post(path, body, status):
            response = client.post(f"{BASE}{path}", json=body, headers=ADMIN)
            assert response.status_code == status, response.text
            return response.json()

        def get(path, status=200, headers=ADMIN):
            response = client.get(f"{DASH}{path}", headers=headers)
            assert response.status_code == status, response.text
            return response.json()

        # Before any build: empty, not an error.
        assert get("/revenue") == {"labels": [], "series": [], "rows": [], "as_of": None}

        post("/plans", BASIC, 201)
        post("/coupons", {"code": "TWENTY", "percent_off": "20", "duration": "once"}, 201)
        post("/subscriptions", {"tenant_id": "tenant-a", "plan_code": "basic"}, 201)
        post(
            "/subscriptions",
            {"tenant_id": "tenant-b", "plan_code": "basic", "coupon_code": "TWENTY"},
            201,
        )
        tenant_key = post("/api-keys", {"tenant_id": "tenant-a", "name": "a"}, 201)["key"]
        produce(settings, calls("tenant-a", 3) + calls("tenant-b", 5))
        # Built while September is in its grace period, then finalized once it has passed.
        run_pipeline(settings.model_copy(update={"grace_period_hours": 10**6}))
        run_pipeline(past_grace(settings))

        revenue = get(f"/revenue?start={SEP}&end={SEP}")
        assert revenue["labels"] == [SEP]
        assert [(s["name"], s["currency"], s["data"]) for s in revenue["series"]] == [
            ("tenant-a", "USD", ["13.00"]),
            ("tenant-b", "USD", ["12.00"]),
        ]
        assert [(r["tenant_id"], r["invoice_count"], r["billed"]) for r in revenue["rows"]] == [
            ("tenant-a", 1, "13.00"),
            ("tenant-b", 1, "12.00"),
        ]
        # Later periods: the base fee only, the coupon was once.
        everything = get("/revenue")
        assert everything["labels"][0] == SEP and len(everything["labels"]) >= 2
        later = {s["name"]: s["data"][1:] for s in everything["series"]}
        assert later["tenant-a"] and all(v == "10.00" for v in later["tenant-a"])
        assert later["tenant-b"] == later["tenant-a"]
        only_b = get(f"/revenue?tenant_id=tenant-b&start={SEP}&end={SEP}")
        assert [(s["name"], s["data"]) for s in only_b["series"]] == [("tenant-b", ["12.00"])]

        status = get(f"/invoices?period_start={SEP}")
        assert status["by_status"] == [
            {"status": "finalized", "currency": "USD", "count": 2, "total": "25.00"}
        ]
        assert status["labels"] == [SEP]
        assert status["series"] == [{"name": "finalized", "currency": None, "data": ["2"]}]
        invoices = {i["tenant_id"]: i for i in status["invoices"]}
        assert invoices["tenant-a"]["total"] == "13.00"
        assert invoices["tenant-a"]["number"].startswith("INV-2026-")

        overview = get(f"/overview?period={SEP}")
        tiles = {t["key"]: t["value"] for t in overview["tiles"]}
        assert tiles == {
            "revenue_USD": "25.00",
            "billed_USD": "25.00",
            "tenants": "2",
            "invoices": "2",
            "draft_invoices": "0",
        }

        # A void shows at once (before the next build re-issues the period).
        voided = invoices["tenant-b"]["id"]
        response = client.post(
            f"{BASE}/invoices/{voided}/void", json={"reason": "wrong"}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        status = get(f"/invoices?period_start={SEP}")
        assert [(r["status"], r["count"], r["total"]) for r in status["by_status"]] == [
            ("finalized", 1, "13.00"),
            ("void", 1, "12.00"),
        ]
        only_void = get(f"/invoices?period_start={SEP}&status=void")
        assert [i["id"] for i in only_void["invoices"]] == [voided]

        # Errors: admin only, periods are first days of months.
        assert client.get(f"{DASH}/revenue").status_code == 401
        get("/revenue", 403, {"X-API-Key": tenant_key})
        bad = get("/revenue?start=2026-09-02", 422)
        assert bad["field"] == "start"
        assert get("/overview?period=2026-09-15", 422)["field"] == "period"

        # The page and its assets need no key.
        page = client.get("/dashboard")
        assert page.status_code == 200 and "chart.umd.js" in page.text
        script = client.get("/dashboard/static/vendor/chart.umd.js")
        assert script.status_code == 200 and "Chart.js v4" in script.text[:200]
        assert client.get("/dashboard/static/dashboard.js").status_code == 200
