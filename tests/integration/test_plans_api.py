"""Plans, pricing, quotes, subscriptions and coupons through the API, on a real control plane."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import ADMIN_KEY, Clock, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"

GRADUATED = {
    "model": "graduated",
    "tiers": [
        {"up_to": "5", "unit_amount": "7"},
        {"up_to": "10", "unit_amount": "6.5"},
        {"up_to": None, "unit_amount": "6"},
    ],
}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 2, 10, 12, 0))


def make_client(settings, clock: Clock):
    seed_meters(settings)
    app = create_app(settings)
    app.state.clock = clock
    return TestClient(app)


@pytest.fixture
def client(settings, clock):
    with make_client(settings, clock) as test_client:
        yield test_client


def plan_body(code="pro", fee="30", **overrides) -> dict:
    body = {
        "code": code,
        "name": code.title(),
        "currency": "USD",
        "base_fee": {"amount": fee, "timing": "in_advance"},
        "charges": [
            {"meter": "calls", "price": {**GRADUATED, "free_units": "0"}},
            {
                "meter": "value_sum",
                "price": {
                    "model": "package",
                    "unit_amount": "2",
                    "package_size": "100",
                    "free_units": "50",
                },
                "minimum_amount": "10",
            },
        ],
    }
    body.update(overrides)
    return body


def post(client, path, body, status=None):
    response = client.post(f"{BASE}{path}", json=body, headers=ADMIN)
    if status is not None:
        assert response.status_code == status, response.text
    return response


def subscribe(client, plan_code, tenant_id="t1", **fields) -> dict:
    """A new subscription (201), as the API answers it."""
    body = {"tenant_id": tenant_id, "plan_code": plan_code, **fields}
    return post(client, "/subscriptions", body, 201).json()


# ----------------------------------------------------------------------------- pricing
def test_calculate_reproduces_the_issue_example(client):
    body = {
        "currency": "USD",
        "quantity": "6",
        "price": {
            "model": "graduated",
            "tiers": [
                {"up_to": "5", "unit_amount": "7", "flat_amount": "0"},
                {"up_to": None, "unit_amount": "6.5"},
            ],
        },
    }
    answer = post(client, "/pricing/calculate", body, 200).json()
    assert answer["amount"] == "41.50" and answer["currency"] == "USD"
    assert [Decimal(line["amount"]) for line in answer["lines"]] == [35, Decimal("6.5")]
    # numbers as JSON numbers work too
    body["quantity"], body["price"]["tiers"][1]["unit_amount"] = 6, 6.5
    assert post(client, "/pricing/calculate", body, 200).json()["amount"] == "41.50"


@pytest.mark.parametrize(
    ("price", "quantity", "amount"),
    [
        ({"model": "per_unit", "unit_amount": "0.0015"}, "1001", "1.50"),
        ({"model": "volume", "tiers": GRADUATED["tiers"]}, "6", "39.00"),
        (
            {"model": "package", "unit_amount": "5", "package_size": "100", "free_units": "10"},
            "111",
            "10.00",
        ),
        ({"model": "flat", "flat_amount": "99.999"}, "0", "100.00"),
        (
            {
                "model": "graduated",
                "tiers": [
                    {"up_to": "1", "unit_amount": "0", "flat_amount": "3"},
                    {"up_to": None, "unit_amount": "1"},
                ],
            },
            "0",
            "3.00",
        ),
    ],
)
def test_calculate_each_model(client, price, quantity, amount):
    body = {"currency": "USD", "quantity": quantity, "price": price}
    assert post(client, "/pricing/calculate", body, 200).json()["amount"] == amount


def test_calculate_rounds_to_the_currency(client):
    body = {
        "currency": "JPY",
        "quantity": "3",
        "price": {"model": "per_unit", "unit_amount": "0.5"},
    }
    assert post(client, "/pricing/calculate", body, 200).json()["amount"] == "2"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"currency": "XXX"}, 422, "currency"),
        ({"price": {"model": "magic"}}, 422, "price.model"),
        (
            {
                "price": {
                    "model": "graduated",
                    "tiers": [
                        {"up_to": "10", "unit_amount": "1"},
                        {"up_to": "5", "unit_amount": "1"},
                        {"up_to": None, "unit_amount": "1"},
                    ],
                }
            },
            422,
            "price.tiers[1].up_to",
        ),
        ({"price": {"model": "per_unit", "unit_amount": "-1"}}, 422, "price.unit_amount"),
        (
            {"price": {"model": "package", "unit_amount": "1", "package_size": "0"}},
            422,
            "price.package_size",
        ),
        ({"quantity": "-3"}, 422, "quantity"),
        ({"quantity": "abc"}, 422, "quantity"),
    ],
)
def test_calculate_errors_name_the_field(client, change, status, field):
    body = {
        "currency": "USD",
        "quantity": "1",
        "price": {"model": "per_unit", "unit_amount": "1"},
        **change,
    }
    response = post(client, "/pricing/calculate", body)
    assert response.status_code == status, response.text
    assert field in response.json()["detail"]


# ----------------------------------------------------------------------------- plans
def test_plan_lifecycle_and_versioning(client):
    created = post(client, "/plans", plan_body(), 201).json()
    assert created["version"] == 1 and created["charges"][0]["price"]["model"] == "graduated"
    assert post(client, "/plans", plan_body()).status_code == 409
    # Unused: an edit changes version 1 in place.
    edited = client.put(
        f"{BASE}/plans/pro",
        headers=ADMIN,
        json={k: v for k, v in plan_body(fee="35").items() if k != "code"},
    )
    assert edited.status_code == 200 and edited.json()["version"] == 1
    # Used by a subscription: the edit becomes version 2, version 1 stays as it was.
    post(client, "/subscriptions", {"tenant_id": "t1", "plan_code": "pro"}, 201)
    v2 = client.put(
        f"{BASE}/plans/pro",
        headers=ADMIN,
        json={k: v for k, v in plan_body(fee="40").items() if k != "code"},
    ).json()
    assert v2["version"] == 2 and v2["base_fee"]["amount"] == "40"
    v1 = client.get(f"{BASE}/plans/pro/versions/1", headers=ADMIN).json()
    assert v1["base_fee"]["amount"] == "35" and v1["is_current"] is False
    assert client.get(f"{BASE}/plans/pro", headers=ADMIN).json()["version"] == 2
    history = client.get(f"{BASE}/plans?include_history=true", headers=ADMIN).json()
    assert [p["version"] for p in history["data"]] == [1, 2]
    assert client.delete(f"{BASE}/plans/pro", headers=ADMIN).status_code == 200
    assert client.get(f"{BASE}/plans/pro", headers=ADMIN).status_code == 404
    assert (
        post(client, "/subscriptions", {"tenant_id": "t2", "plan_code": "pro"}).status_code == 404
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "ABC"}, "currency"),
        (
            {"charges": [{"meter": "nope", "price": {"model": "flat", "flat_amount": "1"}}]},
            "charges[0].meter",
        ),
        (
            {
                "charges": [
                    {"meter": "calls", "price": {"model": "flat", "flat_amount": "1"}},
                    {"meter": "calls", "price": {"model": "flat", "flat_amount": "1"}},
                ]
            },
            "charges[1].meter",
        ),
        (
            {"charges": [{"meter": "calls", "price": {"model": "volume", "tiers": []}}]},
            "charges[0].price.tiers",
        ),
        ({"base_fee": {"amount": "-5"}}, "base_fee.amount"),
        ({"base_fee": {"amount": "5", "proration": "hour"}}, "base_fee.proration"),
        (
            {
                "charges": [
                    {
                        "meter": "calls",
                        "price": {"model": "flat", "flat_amount": "1"},
                        "minimum_amount": "-1",
                    }
                ]
            },
            "charges[0].minimum_amount",
        ),
        ({"trial_days": -1}, "trial_days"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_written(client, change, field):
    response = post(client, "/plans", plan_body(**change))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert client.get(f"{BASE}/plans", headers=ADMIN).json()["count"] == 0


def test_tenant_keys_read_plans_but_cannot_write(client):
    post(client, "/plans", plan_body(), 201)
    key = post(client, "/api-keys", {"tenant_id": "t1"}, 201).json()["key"]
    headers = {"X-API-Key": key}
    assert client.get(f"{BASE}/plans/pro", headers=headers).status_code == 200
    assert client.post(f"{BASE}/plans", json=plan_body("x"), headers=headers).status_code == 403


# ----------------------------------------------------------------------------- quotes
def test_quote_prices_a_plan_line_by_line(client):
    post(client, "/plans", plan_body(), 201)
    post(client, "/coupons", {"code": "TENOFF", "percent_off": "10", "duration": "once"}, 201)
    answer = post(
        client,
        "/pricing/quote",
        {"plan_code": "pro", "usage": {"calls": "6", "value_sum": "120"}, "coupon_code": "TENOFF"},
        200,
    ).json()
    kinds = [(line["kind"], line["amount"]) for line in answer["lines"]]
    # base 30; calls graduated 41.50; value_sum: 70 billable -> 1 package of 100 = 2.00, below
    # the 10.00 minimum -> true-up 8.00; subtotal 81.50; 10% off = 8.15
    assert kinds == [
        ("base_fee", "30.00"),
        ("usage", "41.50"),
        ("usage", "2.00"),
        ("minimum_commitment", "8.00"),
        ("discount", "-8.15"),
    ]
    assert (answer["subtotal"], answer["discount"], answer["total"]) == ("81.50", "8.15", "73.35")
    unknown = post(client, "/pricing/quote", {"plan_code": "pro", "usage": {"bytes": "1"}})
    assert unknown.status_code == 422 and "usage.bytes" in unknown.json()["detail"]
    negative = post(client, "/pricing/quote", {"plan_code": "pro", "usage": {"calls": "-1"}})
    assert negative.status_code == 422 and "usage.calls" in negative.json()["detail"]


def test_amount_coupons_never_take_a_quote_below_zero(client):
    post(client, "/plans", plan_body(fee="5", charges=[]), 201)
    post(
        client,
        "/coupons",
        {"code": "BIG", "amount_off": "50", "currency": "USD", "duration": "forever"},
        201,
    )
    answer = post(client, "/pricing/quote", {"plan_code": "pro", "coupon_code": "BIG"}, 200)
    assert answer.json()["total"] == "0.00" and answer.json()["discount"] == "5.00"


# ----------------------------------------------------------------------------- subscriptions
def test_trialing_then_active_then_canceled_at_period_end(client, clock):
    post(client, "/plans", plan_body(trial_days=14), 201)
    sub = subscribe(client, "pro")
    assert sub["status"] == "trialing"
    assert sub["trial_ends_at"] == "2026-02-24T12:00:00Z"
    clock.now = datetime(2026, 2, 25)
    assert (
        client.get(f"{BASE}/subscriptions/{sub['id']}", headers=ADMIN).json()["status"] == "active"
    )
    canceled = post(client, f"/subscriptions/{sub['id']}/cancel", {}, 200).json()
    assert canceled["status"] == "active" and canceled["cancel_at"] == "2026-03-01T00:00:00Z"
    assert post(client, f"/subscriptions/{sub['id']}/cancel", {}).status_code == 409
    clock.now = datetime(2026, 3, 1)
    assert (
        client.get(f"{BASE}/subscriptions/{sub['id']}", headers=ADMIN).json()["status"]
        == "canceled"
    )
    kinds = [e["kind"] for e in canceled["events"]]
    assert kinds == ["created", "cancellation_scheduled"]


@pytest.mark.parametrize(
    ("now", "credit", "charge"),
    [
        # Feb 2026 has 28 days: change on the 10th leaves 19 days.
        (datetime(2026, 2, 10, 9), "-20.36", "40.71"),
        # Apr 2026 has 30 days: change on the 16th leaves 15 days.
        (datetime(2026, 4, 16, 9), "-15.00", "30.00"),
        # Jan 2026 has 31 days: change on the 31st leaves 1 day.
        (datetime(2026, 1, 31, 23), "-0.97", "1.94"),
        # change at the start of the 2nd of a 31-day month: 30 days left
        (datetime(2026, 1, 2, 0), "-29.03", "58.06"),
    ],
)
def test_upgrades_prorate_by_days(settings, clock, now, credit, charge):
    clock.now = datetime(now.year, now.month, 1)
    with make_client(settings, clock) as client:
        post(client, "/plans", plan_body("basic", fee="30"), 201)
        post(client, "/plans", plan_body("pro", fee="60"), 201)
        sub = subscribe(client, "basic")
        clock.now = now
        changed = post(
            client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "pro"}, 200
        ).json()
    assert changed["plan_code"] == "pro" and changed["status"] == "active"
    assert [(p["kind"], p["amount"]) for p in changed["proration"]] == [
        ("proration_credit", credit),
        ("proration_charge", charge),
    ]
    assert [p["plan_code"] for p in changed["phases"]] == ["basic", "pro"]


def test_a_change_on_the_period_boundary_is_not_prorated(client, clock):
    post(client, "/plans", plan_body("basic", fee="30"), 201)
    post(client, "/plans", plan_body("pro", fee="60"), 201)
    sub = subscribe(client, "basic", start_at="2026-01-15T00:00:00Z")
    clock.now = datetime(2026, 2, 1, 0, 0)
    changed = post(
        client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "pro"}, 200
    ).json()
    assert changed["proration"] == [] and changed["plan_code"] == "pro"


def test_downgrades_wait_for_the_period_end_unless_asked(client, clock):
    post(client, "/plans", plan_body("basic", fee="30"), 201)
    post(client, "/plans", plan_body("pro", fee="60"), 201)
    sub = subscribe(client, "pro")
    later = post(
        client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "basic"}, 200
    ).json()
    assert later["plan_code"] == "pro" and later["pending_plan_code"] == "basic"
    assert later["pending_change_at"] == "2026-03-01T00:00:00Z" and later["proration"] == []
    # Choosing the current plan again drops the pending change.
    kept = post(client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "pro"}, 200).json()
    assert kept["pending_plan_code"] is None
    clock.now = datetime(2026, 2, 15)
    now = post(
        client,
        f"/subscriptions/{sub['id']}/change-plan",
        {"plan_code": "basic", "timing": "immediate"},
        200,
    ).json()
    assert now["plan_code"] == "basic"
    assert [p["kind"] for p in now["proration"]] == ["proration_credit", "proration_charge"]


def test_immediate_cancel_credits_the_unused_base_fee(client, clock):
    post(client, "/plans", plan_body("pro", fee="28"), 201)
    sub = subscribe(client, "pro", start_at="2026-02-01T00:00:00Z")
    done = post(client, f"/subscriptions/{sub['id']}/cancel", {"at_period_end": False}, 200).json()
    assert done["status"] == "canceled"
    assert [(p["kind"], p["amount"]) for p in done["proration"]] == [("proration_credit", "-19.00")]
    assert (
        post(client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "pro"}).status_code
        == 409
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/subscriptions", {"tenant_id": "t1", "plan_code": "missing"}, 404, "missing"),
        ("/subscriptions", {"tenant_id": "bad tenant", "plan_code": "pro"}, 422, "tenant_id"),
        (
            "/subscriptions",
            {"tenant_id": "t1", "plan_code": "pro", "coupon_code": "NOPE"},
            404,
            "NOPE",
        ),
        (
            "/subscriptions",
            {"tenant_id": "t1", "plan_code": "pro", "trial_days": -2},
            422,
            "trial_days",
        ),
    ],
)
def test_subscription_errors_write_nothing(client, path, body, status, fragment):
    post(client, "/plans", plan_body(), 201)
    response = post(client, path, body)
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert client.get(f"{BASE}/subscriptions", headers=ADMIN).json()["count"] == 0


def test_plan_change_errors(client):
    post(client, "/plans", plan_body("pro"), 201)
    post(client, "/plans", plan_body("euro", currency="EUR"), 201)
    sub = subscribe(client, "pro")
    other = post(client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "euro"})
    assert other.status_code == 422 and other.json()["field"] == "plan_code"
    same = post(client, f"/subscriptions/{sub['id']}/change-plan", {"plan_code": "pro"})
    assert same.status_code == 409
    backdated = post(
        client,
        f"/subscriptions/{sub['id']}/change-plan",
        {"plan_code": "euro", "timing": "immediate", "at": "2026-01-05T00:00:00"},
    )
    assert backdated.status_code == 422
    assert client.get(f"{BASE}/subscriptions/nope", headers=ADMIN).status_code == 404


def test_tenants_see_only_their_subscriptions(client):
    post(client, "/plans", plan_body(), 201)
    mine = subscribe(client, "pro")
    theirs = subscribe(client, "pro", tenant_id="t2")
    headers = {"X-API-Key": post(client, "/api-keys", {"tenant_id": "t1"}, 201).json()["key"]}
    listed = client.get(f"{BASE}/subscriptions", headers=headers).json()
    assert [s["id"] for s in listed["data"]] == [mine["id"]]
    assert client.get(f"{BASE}/subscriptions/{theirs['id']}", headers=headers).status_code == 404
    assert client.get(f"{BASE}/subscriptions?tenant_id=t2", headers=headers).status_code == 403
    assert (
        client.post(
            f"{BASE}/subscriptions/{mine['id']}/cancel", json={}, headers=headers
        ).status_code
        == 403
    )


# ----------------------------------------------------------------------------- coupons
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X", "duration": "once"}, "percent_off"),
        ({"code": "X", "percent_off": "10", "amount_off": "5", "duration": "once"}, "percent_off"),
        ({"code": "X", "percent_off": "120", "duration": "once"}, "percent_off"),
        ({"code": "X", "amount_off": "5", "duration": "once"}, "currency"),
        ({"code": "X", "amount_off": "5", "currency": "ZZZ", "duration": "once"}, "currency"),
        ({"code": "X", "percent_off": "10", "duration": "repeating"}, "duration_in_months"),
        (
            {"code": "X", "percent_off": "10", "duration": "once", "duration_in_months": 3},
            "duration_in_months",
        ),
        (
            {
                "code": "X",
                "percent_off": "10",
                "duration": "once",
                "redeem_by": "2020-01-01T00:00:00Z",
            },
            "redeem_by",
        ),
        (
            {"code": "X", "percent_off": "10", "duration": "once", "plan_codes": ["ghost"]},
            "plan_codes[0]",
        ),
    ],
)
def test_bad_coupons_are_refused(client, body, field):
    response = post(client, "/coupons", body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_coupon_redemption_rules(client, clock):
    post(client, "/plans", plan_body("pro"), 201)
    post(client, "/plans", plan_body("other"), 201)
    post(
        client,
        "/coupons",
        {
            "code": "ONCE",
            "percent_off": "20",
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 1,
            "plan_codes": ["pro"],
            "redeem_by": "2026-03-01T00:00:00Z",
        },
        201,
    )
    a = subscribe(client, "pro")
    b = subscribe(client, "pro", tenant_id="t2")
    c = subscribe(client, "other", tenant_id="t3")
    wrong_plan = post(client, f"/subscriptions/{c['id']}/coupons", {"code": "ONCE"})
    assert wrong_plan.status_code == 422
    applied = post(client, f"/subscriptions/{a['id']}/coupons", {"code": "ONCE"}, 200).json()
    assert applied["coupons"] == [
        {
            "coupon_code": "ONCE",
            "redeemed_at": "2026-02-10T12:00:00Z",
            "first_period_start": "2026-02-01",
            "periods": 3,
        }
    ]
    assert post(client, f"/subscriptions/{a['id']}/coupons", {"code": "ONCE"}).status_code == 409
    assert post(client, f"/subscriptions/{b['id']}/coupons", {"code": "ONCE"}).status_code == 409
    coupon = client.get(f"{BASE}/coupons/ONCE", headers=ADMIN).json()
    assert coupon["times_redeemed"] == 1
    post(
        client,
        "/coupons",
        {
            "code": "LATE",
            "percent_off": "5",
            "duration": "forever",
            "redeem_by": "2026-02-11T00:00:00Z",
        },
        201,
    )
    clock.now = datetime(2026, 2, 12)
    assert post(client, f"/subscriptions/{b['id']}/coupons", {"code": "LATE"}).status_code == 409
    assert client.delete(f"{BASE}/coupons/ONCE", headers=ADMIN).status_code == 200
    listed = client.get(f"{BASE}/coupons", headers=ADMIN).json()
    assert [c["code"] for c in listed["data"]] == ["LATE"]


@pytest.mark.postgres
def test_redemption_limits_hold_under_concurrent_requests(make_settings, pg_database, clock):
    settings = make_settings(control_db_url=pg_database)
    with make_client(settings, clock) as client:
        post(client, "/plans", plan_body("pro"), 201)
        post(
            client,
            "/coupons",
            {"code": "FIRST3", "percent_off": "50", "duration": "once", "max_redemptions": 3},
            201,
        )
        subs = [
            post(client, "/subscriptions", {"tenant_id": f"t{i}", "plan_code": "pro"}, 201).json()[
                "id"
            ]
            for i in range(12)
        ]
        barrier = threading.Barrier(len(subs))
        codes: list[int] = []

        def redeem(sub_id: str) -> None:
            barrier.wait()
            codes.append(
                post(client, f"/subscriptions/{sub_id}/coupons", {"code": "FIRST3"}).status_code
            )

        threads = [threading.Thread(target=redeem, args=(s,)) for s in subs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [200] * 3 + [409] * 9
        assert client.get(f"{BASE}/coupons/FIRST3", headers=ADMIN).json()["times_redeemed"] == 3
        redeemed = [
            s
            for s in subs
            if client.get(f"{BASE}/subscriptions/{s}", headers=ADMIN).json()["coupons"]
        ]
        assert len(redeemed) == 3
