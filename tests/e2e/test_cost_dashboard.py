"""Cost dashboard endpoints on DuckDB and PostgreSQL, against figures computed by hand.

September 2026; plan `basic`: base fee 10.00 in advance, calls at 1.00 each.
  tenant-a  3 calls                         -> 10 + 3 = 13.00
  tenant-b  5 calls, 20% off once           -> 10 + 5 = 15.00 - 3.00 = 12.00
Revenue for September: 25.00 over 2 finalized invoices.

Cloud cost (one FOCUS file, USD, EffectiveCost):
  AWS EC2 (tag team=payments -> cost center `payments`): 10.00 a day in August (310.00);
      September 1 10.01, 2-19 10.00, 20 1,000.00 (the last day landed): 1,190.01
  AWS S3 (no rule -> `unallocated`): 5.00 a day September 1-20: 100.00
  API Gateway: 8.00 on September 5, split by usage of `calls` (3 + 5 = 8 calls, both tenants
      in `payments`): 1.000000 per call
  Forecast as of Sep 20 (10 days left, median of the last 7 days):
      EC2 1,190.01 + 10 x 10 = 1,290.01; S3 100 + 5 x 10 = 150.00; API Gateway 8 + 0 x 10;
      total 1,448.01
  Anomalies: EC2 on Sep 20 only (baseline 10, MAD 0, deviation 990 >= 10)
  Month over month, September: EC2 +880.01 (310.00 before), S3 +100.00 and API Gateway
      +8.00 (none before)
  Tenant cost: tenant-a and tenant-b are both mapped to `payments`: 1,190.01 + 8.00 =
      1,198.01 -> 599.01 and 599.00 (the leftover cent to the first by id); August 310.00 ->
      155.00 each
  Gross margin, September: tenant-a 13.00 - 599.01 = -586.01 (-4507.77%);
      tenant-b 12.00 - 599.00 = -587.00 (-4891.67%)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from adapters.warehouse.serving import ServingReader
from api.main import create_app
from billing.control_plane.db import session_scope
from billing.control_plane.models import InvoicePayment
from tests.conftest import ADMIN_KEY, clocked_app, cloud_event, produce, run_pipeline, seed_meters
from tests.e2e.test_invoices import past_grace

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


FOCUS_HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ServiceName,BillingCurrency,BillingPeriodStart,"
    "BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,"
    "EffectiveCost,ListCost,ContractedCost,Tags"
)


def focus_line(day: date, service: str, cost: str, tags: str) -> str:
    period = date(day.year, day.month, 1)
    after = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (
        f"ba-1,acct-main,AWS,{service},USD,{period} 00:00:00,{after} 00:00:00,"
        f"{day} 00:00:00,{day + timedelta(days=1)} 00:00:00,Usage,{cost},{cost},{cost},"
        f"{cost},{tags}"
    )


def cost_file() -> str:
    payments = '"{""team"": ""payments""}"'
    lines = [FOCUS_HEADER]
    lines += [focus_line(date(2026, 8, d), "EC2", "10.00", payments) for d in range(1, 32)]
    for d in range(1, 21):
        ec2 = {1: "10.01", 20: "1000.00"}.get(d, "10.00")
        lines.append(focus_line(date(2026, 9, d), "EC2", ec2, payments))
        lines.append(focus_line(date(2026, 9, d), "S3", "5.00", "{}"))
    lines.append(focus_line(date(2026, 9, 5), "API Gateway", "8.00", "{}"))
    return "\n".join(lines) + "\n"


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
    app, clock = clocked_app(settings, datetime(2026, 9, 1))
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
        post("/cost-centers", {"code": "payments", "name": "Payments"}, 201)
        post(
            "/cost-allocation-rules",
            {
                "name": "payments",
                "priority": 10,
                "match": {"tag_key": "team", "tag_value": "payments"},
                "cost_center": "payments",
            },
            201,
        )
        post(
            "/cost-allocation-rules",
            {
                "name": "gateway by calls",
                "priority": 20,
                "match": {"service_name": "API Gateway"},
                "split": {"method": "usage", "usage_meter": "calls"},
            },
            201,
        )
        for tenant in ("tenant-b", "tenant-a"):
            response = client.put(
                f"{BASE}/tenant-cost-centers/{tenant}",
                json={"cost_center": "payments"},
                headers=ADMIN,
            )
            assert response.status_code == 200, response.text
        settings.cost_files_path.mkdir(parents=True, exist_ok=True)
        (settings.cost_files_path / "focus-2026.csv").write_text(cost_file())
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

        # Once collection has started, a finalized invoice shows its payment status.
        with session_scope(settings) as session:
            session.add(
                InvoicePayment(
                    invoice_id=invoices["tenant-a"]["id"],
                    tenant_id="tenant-a",
                    currency="USD",
                    amount=Decimal("13.00"),
                    status="paid",
                )
            )
        paid = get(f"/invoices?period_start={SEP}")
        assert [(r["status"], r["count"], r["total"]) for r in paid["by_status"]] == [
            ("finalized", 1, "12.00"),
            ("paid", 1, "13.00"),
        ]
        rows = {i["tenant_id"]: (i["status"], i["payment_status"]) for i in paid["invoices"]}
        assert rows == {"tenant-a": ("finalized", "paid"), "tenant-b": ("finalized", None)}

        # A void shows at once (before the next build re-issues the period).
        voided = invoices["tenant-b"]["id"]
        response = client.post(
            f"{BASE}/invoices/{voided}/void", json={"reason": "wrong"}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        status = get(f"/invoices?period_start={SEP}")
        assert [(r["status"], r["count"], r["total"]) for r in status["by_status"]] == [
            ("paid", 1, "13.00"),
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

        # Cloud cost: daily trend, month over month and movers, forecast, anomalies.
        daily = get("/costs/daily?start=2026-09-19&end=2026-09-20&group_by=service")
        assert daily["labels"] == ["2026-09-19", "2026-09-20"]
        assert [(s["name"], s["data"]) for s in daily["series"]] == [
            ("EC2", ["10.00", "1000.00"]),
            ("S3", ["5.00", "5.00"]),
        ]
        by_provider = get("/costs/daily?provider=AWS&start=2026-09-20&end=2026-09-20")
        assert [(s["name"], s["data"]) for s in by_provider["series"]] == [("AWS", ["1005.00"])]
        assert get("/costs/daily?provider=GCP")["series"] == []

        monthly = get("/costs/monthly?month=2026-09-01&top=1")
        assert monthly["labels"] == ["2026-08-01", SEP]
        assert monthly["series"] == [
            {"name": "AWS", "currency": "USD", "data": ["310.00", "1298.01"]}
        ]
        assert [
            (r["service"], r["cost"], r["previous_cost"], r["change"]) for r in monthly["rows"]
        ] == [
            ("API Gateway", "8.00", "0.00", "8.00"),
            ("EC2", "1190.01", "310.00", "880.01"),
            ("S3", "100.00", "0.00", "100.00"),
        ]
        assert [r["service"] for r in monthly["movers"]] == ["EC2"]

        forecast = get("/costs/forecast")
        assert [
            (r["service"], r["month_to_date"], r["run_rate"], r["forecast"])
            for r in forecast["rows"]
        ] == [
            ("API Gateway", "8.00", "0.00", "8.00"),
            ("EC2", "1190.01", "10.00", "1290.01"),
            ("S3", "100.00", "5.00", "150.00"),
        ]
        total = forecast["totals"][0]
        assert (total["as_of"], total["days_remaining"], total["forecast"]) == (
            "2026-09-20",
            10,
            "1448.01",
        )
        assert get("/costs/forecast?service=S3")["totals"][0]["forecast"] == "150.00"

        anomalies = get("/costs/anomalies")
        assert [
            (a["service"], a["day"], a["baseline"], a["deviation"]) for a in anomalies["anomalies"]
        ] == [("EC2", "2026-09-20", "10.00", "990.00")]
        assert anomalies["series"][1]["data"][-1] == "1000.00"
        assert get("/costs/anomalies?service=S3")["anomalies"] == []

        centers = get(f"/costs/cost-centers?period_start={SEP}")
        assert {r["cost_center"]: r["total"] for r in centers["rows"]} == {
            "payments": "1198.01",
            "unallocated": "100.00",
        }

        margin = get(f"/tenant-margin?period_start={SEP}")
        assert [
            (
                r["tenant_id"],
                r["revenue"],
                r["allocated_cost"],
                r["gross_margin"],
                r["gross_margin_percentage"],
            )
            for r in margin["rows"]
        ] == [
            ("tenant-a", "13.00", "599.01", "-586.01", "-4507.77"),
            ("tenant-b", "12.00", "599.00", "-587.00", "-4891.67"),
        ]
        assert margin["labels"] == ["tenant-a", "tenant-b"]
        august = get("/tenant-margin?period_start=2026-08-01&tenant_id=tenant-a")["rows"]
        assert [
            (r["revenue"], r["allocated_cost"], r["gross_margin_percentage"]) for r in august
        ] == [("0.00", "155.00", None)]

        units = get(f"/unit-costs?period_start={SEP}")
        assert [
            (
                r["meter"],
                r["unit"],
                r["allocated_cost"],
                r["quantity"],
                r["tenants"],
                r["unit_cost"],
            )
            for r in units["rows"]
        ] == [("calls", "call", "8.00", "8", 2, "1.000000")]
        assert units["labels"] == ["calls (USD per call)"]
        assert get("/unit-costs?period_start=2026-08-01")["rows"] == []

        # The page and its assets need no key.
        page = client.get("/dashboard")
        assert page.status_code == 200 and "chart.umd.js" in page.text
        script = client.get("/dashboard/static/vendor/chart.umd.js")
        assert script.status_code == 200 and "Chart.js v4" in script.text[:200]
        assert client.get("/dashboard/static/dashboard.js").status_code == 200


# ------------------------------------------------------------------- cost per cost center
def october_file() -> str:
    """October 2026, AWS, USD (EffectiveCost):
    EC2 tagged team=payments  10.00 a day Oct 1-9, 500.00 on Oct 10 -> `payments` (590.00)
    EC2 tagged team=search    20.00 a day Oct 1-10                 -> `search`   (200.00)
    S3 (no rule)              1.00 a day Oct 1-10                  -> `unallocated` (10.00)
    Shared                    0.02 on Oct 1, 0.01 on Oct 2: a pool of 0.03 split evenly over
                              data, payments and search: 1 cent each for October.
    """
    lines = [FOCUS_HEADER]
    for d in range(1, 11):
        day = date(2026, 10, d)
        lines.append(
            focus_line(day, "EC2", "500.00" if d == 10 else "10.00", '"{""team"": ""payments""}"')
        )
        lines.append(focus_line(day, "EC2", "20.00", '"{""team"": ""search""}"'))
        lines.append(focus_line(day, "S3", "1.00", "{}"))
    lines.append(focus_line(date(2026, 10, 1), "Shared", "0.02", "{}"))
    lines.append(focus_line(date(2026, 10, 2), "Shared", "0.01", "{}"))
    return "\n".join(lines) + "\n"


def test_cost_by_cost_center_per_day(target_settings):
    """The pool's days are split in the proportions of its October shares (1:1:1), exactly,
    in 10^-20 units by running totals (ties by code):
      Oct 1 (running 0.02): data 0.00666666666666666667, payments 0.00666666666666666667,
            search 0.00666666666666666666
      Oct 2 (running 0.03 = 0.01 each, minus Oct 1): data 0.00333333333333333333, payments
            0.00333333333333333333, search 0.00333333333333333334
    so each center's October share is 0.01, and each day's parts add up to the day's 0.02 and
    0.01. Rounded half-up by the API: Oct 1 0.01 each, Oct 2 0.00 each."""
    settings = target_settings
    seed_meters(settings)
    with TestClient(create_app(settings)) as client:

        def post(path, body):
            response = client.post(f"{BASE}{path}", json=body, headers=ADMIN)
            assert response.status_code == 201, response.text

        def get(path, status=200):
            response = client.get(f"{DASH}{path}", headers=ADMIN)
            assert response.status_code == status, response.text
            return response.json()

        for code in ("data", "payments", "search", "platform"):
            post("/cost-centers", {"code": code, "name": code.title()})
        for priority, team in ((10, "payments"), (20, "search")):
            post(
                "/cost-allocation-rules",
                {
                    "name": team,
                    "priority": priority,
                    "match": {"tag_key": "team", "tag_value": team},
                    "cost_center": team,
                },
            )
        post(
            "/cost-allocation-rules",
            {
                "name": "shared evenly",
                "priority": 30,
                "match": {"service_name": "Shared"},
                "split": {
                    "method": "even",
                    "targets": [{"cost_center": c} for c in ("data", "payments", "search")],
                },
            },
        )
        settings.cost_files_path.mkdir(parents=True, exist_ok=True)
        (settings.cost_files_path / "focus-2026-10.csv").write_text(october_file())
        run_pipeline(settings)

        daily = get("/costs/daily?group_by=cost_center&start=2026-10-01&end=2026-10-02")
        assert daily["labels"] == ["2026-10-01", "2026-10-02"]
        assert [(s["name"], s["currency"], s["data"]) for s in daily["series"]] == [
            ("data", "USD", ["0.01", "0.00"]),  # 0.00666666666666666667, 0.00333333333333333333
            ("payments", "USD", ["10.01", "10.00"]),  # 10 + the same
            ("search", "USD", ["20.01", "20.00"]),  # 20.00666666666666666666, 20.0033333...34
            ("unallocated", "USD", ["1.00", "1.00"]),
        ]
        payments = get("/costs/daily?cost_center=payments&group_by=service")
        assert payments["labels"] == [f"2026-10-{d:02d}" for d in range(1, 11)]
        assert [(s["name"], s["data"]) for s in payments["series"]] == [
            ("EC2", ["10.00"] * 9 + ["500.00"]),
            ("Shared", ["0.01", "0.00"] + [None] * 8),
        ]
        unallocated = get("/costs/daily?cost_center=unallocated&end=2026-10-03")
        assert [(s["name"], s["data"]) for s in unallocated["series"]] == [
            ("AWS", ["1.00", "1.00", "1.00"])
        ]
        # A cost center with no cost of its own (not its children's either): no series.
        assert get("/costs/daily?cost_center=platform")["series"] == []

        # Exact in the mart: each day's centers add up to the day, and October per center is
        # the allocation (the pool is whole cents, so exactly).
        reader = ServingReader(settings)
        rows, _ = reader.query(
            "select charge_date, cost_center_code, shared_amount from "
            "{fct_cloud_costs_daily_by_cost_center} where service_name = 'Shared' "
            "order by charge_date, cost_center_code"
        )
        assert [
            (r["charge_date"].day, r["cost_center_code"], r["shared_amount"]) for r in rows
        ] == [
            # Split in 10^-20 units (the cost lines' scale), largest remainder, ties by code.
            (1, "data", Decimal("0.00666666666666666667")),
            (1, "payments", Decimal("0.00666666666666666667")),
            (1, "search", Decimal("0.00666666666666666666")),
            (2, "data", Decimal("0.00333333333333333333")),
            (2, "payments", Decimal("0.00333333333333333333")),
            (2, "search", Decimal("0.00333333333333333334")),
        ]
        totals, _ = reader.query(
            "select cost_center_code, sum(total_amount) as total "
            "from {fct_cloud_costs_daily_by_cost_center} group by 1 order by 1"
        )
        assert [(r["cost_center_code"], r["total"]) for r in totals] == [
            ("data", Decimal("0.01")),
            ("payments", Decimal("590.01")),
            ("search", Decimal("200.01")),
            ("unallocated", Decimal("10.00")),
        ]
        centers = get("/costs/cost-centers?period_start=2026-10-01")
        assert {r["cost_center"]: r["total"] for r in centers["rows"]} == {
            "data": "0.01",
            "payments": "590.01",
            "search": "200.01",
            "unallocated": "10.00",
        }

        # Anomalies per cost center: payments' EC2 on Oct 10 (baseline 10.00, MAD 0,
        # deviation 490.00); search's EC2 is flat and the pool's shares are cents.
        spikes = get("/costs/anomalies?cost_center=payments")
        assert [
            (a["service"], a["cost_center"], a["day"], a["baseline"], a["deviation"])
            for a in spikes["anomalies"]
        ] == [("EC2", "payments", "2026-10-10", "10.00", "490.00")]
        assert spikes["series"][0]["data"] == ["10.01"] + ["10.00"] * 8 + ["500.00"]
        assert get("/costs/anomalies?cost_center=search")["anomalies"] == []
        # Without the filter: per service (EC2: 30.00 a day, 520.00 on Oct 10), as before.
        per_service = get("/costs/anomalies")
        assert [
            (a["service"], a["cost_center"], a["day"], a["baseline"], a["deviation"])
            for a in per_service["anomalies"]
        ] == [("EC2", None, "2026-10-10", "30.00", "490.00")]

        # Bad filters: 422 with the field, never a 500.
        for path, field in (
            ("/costs/daily?cost_center=nope", "cost_center"),
            ("/costs/anomalies?cost_center=nope", "cost_center"),
            ("/costs/daily?start=2026-10-05&end=2026-10-01", "end"),
            ("/costs/anomalies?start=2026-10-05&end=2026-10-01", "end"),
        ):
            bad = get(path, 422)
            assert bad["field"] == field, bad
        assert get("/costs/daily?cost_center=nope", 422)["detail"] == (
            "cost_center: no cost center 'nope'"
        )
        assert "group_by" in get("/costs/daily?group_by=team", 422)["detail"]
        assert get("/costs/anomalies?start=yesterday", 422)["detail"]
