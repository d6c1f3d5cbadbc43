"""Invoices end to end, on DuckDB and PostgreSQL: events on Kafka -> `billing run` ->
invoices through the API, checked against totals computed by hand.

September 2026 (30 days) is the period under test; October is the next one.

  tenant-a  basic from Sep 1, upgraded to pro on Sep 16; 10% off for 2 months; VAT 20% and a
            local 1.5% tax
  tenant-b  basic all month; 15.00 off once; later a 5.00 credit grant; late events before and
            after finalization
  tenant-c  pro all month; 5% off for ever; its September invoice is voided and re-issued

  basic: base fee 10 (in advance); calls graduated (1-5 at 1.00, then 0.50 + 2.00 flat);
         value_sum volume (up to 100 at 0.10, then 0.05 + 1.00 flat)
  pro:   base fee 40; calls package (3.00 per 10, 5 free); value_sum per unit 0.02, 50 free,
         minimum commitment 5.00
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.conftest import (
    ADMIN_KEY,
    admin_api,
    clocked_app,
    cloud_event,
    produce,
    run_dbt,
    run_pipeline,
)
from tests.plans import per_unit, plan, tiered

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
SEP, OCT = "2026-09-01", "2026-10-01"

BASIC = plan(
    "basic",
    "Basic",
    {"amount": "10", "timing": "in_advance"},
    tiered("calls", "graduated", ("5", "1"), (None, "0.5", "2")),
    tiered("value_sum", "volume", ("100", "0.10"), (None, "0.05", "1")),
)
PRO = plan(
    "pro",
    "Pro",
    {"amount": "40", "timing": "in_advance"},
    {
        "meter": "calls",
        "price": {"model": "package", "unit_amount": "3", "package_size": "10", "free_units": "5"},
    },
    {**per_unit("value_sum", "0.02", free_units="50"), "minimum_amount": "5"},
)


def events(tenant: str, prefix: str, count: int, value: int, day: int = 5) -> list[dict]:
    return [
        cloud_event(
            f"{tenant}-{prefix}-{i}",
            tenant,
            datetime(2026, 9, day, 12, i),
            {"value": value, "user_id": "u", "region": "eu"},
        )
        for i in range(count)
    ]


def in_grace(settings):
    """Settings under which September is still in its grace period."""
    return settings.model_copy(update={"grace_period_hours": 10**6})


def due_until(settings, first_open: datetime):
    """Settings under which every period ending by ``first_open`` is due for finalization and
    the one starting there is not (a grace period an hour short of the time since then)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    hours = int((now - first_open).total_seconds() // 3600) - 1
    return settings.model_copy(update={"grace_period_hours": hours})


def past_grace(settings):
    """Settings under which September is due for finalization, but October is not."""
    return due_until(settings, datetime(2026, 10, 1))


def invoices_by_tenant(client, period: str, status: str | None = None) -> dict[str, dict]:
    query = f"period_start={period}" + (f"&status={status}" if status else "")
    listed = client.get(f"{BASE}/invoices?{query}", headers=ADMIN).json()["data"]
    out = {}
    for invoice in listed:
        full = client.get(f"{BASE}/invoices/{invoice['id']}", headers=ADMIN).json()
        out.setdefault(invoice["tenant_id"], full)
    return out


def rebuild_everything(settings) -> None:
    """Every model rebuilt from scratch (``--full-refresh``) and published."""
    from adapters.warehouse.serving import publish_snapshot

    run_dbt(
        settings,
        "dbt-full",
        ["build", "--full-refresh", "--exclude-resource-type", "unit_test"],
        timeout=600,
    )
    publish_snapshot(settings)


def lines(invoice: dict) -> list[tuple[str, str]]:
    return [(line["kind"], line["amount"]) for line in invoice["lines"]]


def test_invoices_end_to_end(target_settings):
    settings = target_settings
    app, clock = clocked_app(settings, datetime(2026, 9, 1, 0, 0))
    with TestClient(app) as client:
        post = functools.partial(admin_api(client), "POST")

        post("/plans", BASIC, 201)
        post("/plans", PRO, 201)
        post("/tax-rates", {"code": "VAT20", "name": "VAT", "percentage": "20"}, 201)
        post("/tax-rates", {"code": "LOCAL", "name": "Local tax", "percentage": "1.5"}, 201)
        client.put(
            f"{BASE}/tenants/tenant-a",
            headers=ADMIN,
            json={"name": "A", "tax_rates": ["VAT20", "LOCAL"]},
        )
        post(
            "/coupons",
            {"code": "TEN", "percent_off": "10", "duration": "repeating", "duration_in_months": 2},
            201,
        )
        post(
            "/coupons",
            {"code": "FIFTEEN", "amount_off": "15", "currency": "USD", "duration": "once"},
            201,
        )
        post("/coupons", {"code": "FIVE", "percent_off": "5", "duration": "forever"}, 201)
        a = post(
            "/subscriptions",
            {"tenant_id": "tenant-a", "plan_code": "basic", "coupon_code": "TEN"},
            201,
        )["id"]
        post(
            "/subscriptions",
            {"tenant_id": "tenant-b", "plan_code": "basic", "coupon_code": "FIFTEEN"},
            201,
        )
        post(
            "/subscriptions",
            {"tenant_id": "tenant-c", "plan_code": "pro", "coupon_code": "FIVE"},
            201,
        )
        clock.now = datetime(2026, 9, 16, 9, 0)
        upgraded = post(f"/subscriptions/{a}/change-plan", {"plan_code": "pro"}, 200)
        assert [p["amount"] for p in upgraded["proration"]] == ["-5.00", "20.00"]

        produce(
            settings,
            events("tenant-a", "x", 27, 10)
            + events("tenant-b", "x", 7, 20)
            + events("tenant-c", "x", 3, 1),
        )
        run_pipeline(in_grace(settings))
        drafts = invoices_by_tenant(client, SEP)
        # tenant-a: base 10, credit -5, charge 20, pro calls: 27-5=22 -> 3 packages = 9.00,
        # value_sum: (270-50) x 0.02 = 4.40 -> true-up to 5.00 = 0.60; subtotal 39.00;
        # 10% = 3.90; tax 21.5% of 35.10 = 7.5465 -> 7.55; total 42.65
        a_sep = drafts["tenant-a"]
        assert a_sep["status"] == "draft" and a_sep["number"] is None
        assert lines(a_sep) == [
            ("base_fee", "10.00"),
            ("proration_credit", "-5.00"),
            ("proration_charge", "20.00"),
            ("usage", "9.00"),
            ("usage", "4.40"),
            ("minimum_commitment", "0.60"),
            ("discount", "-3.90"),
            ("tax", "7.55"),
        ]
        assert (a_sep["subtotal"], a_sep["discount"], a_sep["tax"], a_sep["total"]) == (
            "39.00",
            "3.90",
            "7.55",
            "42.65",
        )
        # tenant-b: base 10; calls 7: 5 x 1 + 2 x 0.5 + 2 = 8.00; value 140: 140 x 0.05 + 1 =
        # 8.00; subtotal 26.00 - 15.00 = 11.00; no tax
        assert drafts["tenant-b"]["total"] == "11.00"
        # tenant-c: base 40; calls 3 (all free) 0.00; value 3 (free) 0.00 -> true-up 5.00;
        # 45.00 - 5% (2.25) = 42.75
        assert drafts["tenant-c"]["total"] == "42.75"

        # Late events before finalization still change the draft: tenant-b 2 more calls.
        produce(settings, events("tenant-b", "late1", 2, 20, day=20))
        run_pipeline(in_grace(settings))
        # calls 9: 5 + 4 x 0.5 + 2 = 9.00; value 180 -> 10.00; 29.00 - 15.00 = 14.00
        assert invoices_by_tenant(client, SEP)["tenant-b"]["total"] == "14.00"

        # Grace over: September is finalized, numbered, and closed.
        clock.now = datetime(2026, 10, 3)
        post(
            "/tenants/tenant-b/credits",
            {"amount": "5", "currency": "USD", "reason": "goodwill"},
            201,
        )
        run_pipeline(past_grace(settings))
        final = invoices_by_tenant(client, SEP, "finalized")
        assert {t: i["total"] for t, i in final.items()} == {
            "tenant-a": "42.65",
            "tenant-b": "14.00",
            "tenant-c": "42.75",
        }
        numbers = sorted(i["number"] for i in final.values())
        assert all(n.startswith("INV-") for n in numbers) and len(set(numbers)) == 3
        b_sep = final["tenant-b"]

        # A late event after finalization: September does not change; October carries the
        # difference: calls 10 -> 9.50 (+0.50), value 200 -> 11.00 (+1.00).
        produce(settings, events("tenant-b", "late2", 1, 20, day=28))
        run_pipeline(past_grace(settings))
        again = client.get(f"{BASE}/invoices/{b_sep['id']}", headers=ADMIN).json()
        assert again == b_sep
        b_oct = invoices_by_tenant(client, OCT)["tenant-b"]
        # base 10.00 + adjustments 1.50 = 11.50 (the once-coupon is used up); the 5.00 credit
        # granted in October is applied after tax -> 6.50
        assert lines(b_oct) == [
            ("base_fee", "10.00"),
            ("usage", "0.00"),
            ("usage", "0.00"),
            ("usage_adjustment", "0.50"),
            ("usage_adjustment", "1.00"),
            ("credit", "-5.00"),
        ]
        assert (b_oct["subtotal"], b_oct["credits"], b_oct["total"]) == ("11.50", "5.00", "6.50")
        # tenant-a's October: pro base 40 + true-up 5.00 = 45.00; 10% (2nd month) = 4.50;
        # tax 21.5% of 40.50 = 8.7075 -> 8.71; total 49.21
        assert invoices_by_tenant(client, OCT)["tenant-a"]["total"] == "49.21"

        # Void tenant-c's September invoice; the next run re-issues it with a new number.
        c_sep = final["tenant-c"]
        voided = post(f"/invoices/{c_sep['id']}/void", {"reason": "wrong address"}, 200)
        assert voided["status"] == "void"
        assert (
            client.post(f"{BASE}/invoices/{c_sep['id']}/void", json={}, headers=ADMIN).status_code
            == 409
        )
        run_pipeline(past_grace(settings))
        c_all = client.get(
            f"{BASE}/invoices?tenant_id=tenant-c&period_start={SEP}", headers=ADMIN
        ).json()["data"]
        assert sorted((i["status"], i["issue_number"]) for i in c_all) == [
            ("finalized", 2),
            ("void", 1),
        ]
        reissued = next(i for i in c_all if i["status"] == "finalized")
        assert reissued["total"] == "42.75" and reissued["number"] not in numbers
        assert reissued["id"] != c_sep["id"]

        # Reading: filters, tenant scope, HTML, the upcoming invoice, errors.
        key = post("/api-keys", {"tenant_id": "tenant-b"}, 201)["key"]
        mine = client.get(f"{BASE}/invoices", headers={"X-API-Key": key}).json()
        assert {i["tenant_id"] for i in mine["data"]} == {"tenant-b"}
        assert (
            client.get(f"{BASE}/invoices/{a_sep['id']}", headers={"X-API-Key": key}).status_code
            == 404
        )
        page = client.get(f"{BASE}/invoices/{b_sep['id']}/html", headers=ADMIN)
        assert page.status_code == 200 and b_sep["number"] in page.text and "14.00" in page.text
        clock.now = datetime.now(UTC).replace(tzinfo=None)
        upcoming = client.get(f"{BASE}/invoices/upcoming?tenant_id=tenant-c", headers=ADMIN)
        assert upcoming.status_code == 200
        current = upcoming.json()["data"][0]
        assert current["status"] == "draft" and current["period_start"] == clock.now.strftime(
            "%Y-%m-01"
        )
        draft_void = client.post(f"{BASE}/invoices/{current['id']}/void", json={}, headers=ADMIN)
        assert draft_void.status_code == 409
        assert client.get(f"{BASE}/invoices/inv_nope", headers=ADMIN).status_code == 404
        assert (
            client.get(f"{BASE}/invoices?period_start=2026-09-02", headers=ADMIN).status_code == 422
        )


def test_finalized_invoices_survive_a_full_rebuild(make_settings):
    """Rebuild every model from scratch: finalized invoices stay exactly as they were."""
    from tests.conftest import ADMIN_KEY as _  # noqa: F401

    settings = make_settings()
    app, clock = clocked_app(settings, datetime(2026, 9, 1))
    with TestClient(app) as client:
        client.post(f"{BASE}/plans", json=BASIC, headers=ADMIN)
        client.post(
            f"{BASE}/subscriptions",
            headers=ADMIN,
            json={"tenant_id": "tenant-b", "plan_code": "basic"},
        )
        produce(settings, events("tenant-b", "x", 7, 20))
        run_pipeline(past_grace(settings))
        before = invoices_by_tenant(client, SEP, "finalized")["tenant-b"]
        rebuild_everything(settings)
        after = client.get(f"{BASE}/invoices/{before['id']}", headers=ADMIN).json()
    assert after == before
    assert Decimal(before["total"]) == Decimal("26.00")
