"""Quotas, milestones, budgets and alerts: the API, and the real-time consumer's transaction
(real validator, real control plane) feeding them; the pure rules are in
tests/unit/test_alerting_rules.py."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from billing.control_plane.db import session_scope
from billing.control_plane.models import RealtimeDistinctValue, RealtimeSeenEvent, RealtimeUsage
from ingestion.realtime_consumer import RealtimeConsumer
from tests.conftest import ADMIN_KEY, cloud_event, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
NOW = datetime(2026, 11, 16)  # half of November elapsed


# ----------------------------------------------------------------------------- API
@pytest.fixture(params=["sqlite", "postgres"])
def control(request, make_settings):
    if request.param == "sqlite":
        settings = make_settings()
    else:
        settings = make_settings(control_db_url=request.getfixturevalue("pg_database"))
    seed_meters(settings)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    app.state.quota_cache.max_age = 0  # read through: each check sees the last feed at once
    with TestClient(app) as client:
        yield settings, client


def feed(settings, events, consumer=None):
    """Count events through the real-time consumer's transaction (what it does per batch)."""
    consumer = consumer or RealtimeConsumer(settings, clock=lambda: NOW)
    payloads = [e if isinstance(e, bytes) else orjson.dumps(e) for e in events]
    return consumer.process(payloads, {}, {})


def call(i, tenant="t1", value=1, user="u1", day=3, source="tests"):
    return cloud_event(
        f"e{i}",
        tenant,
        datetime(2026, 11, day, 12, i % 60),
        {"value": value, "user_id": user, "region": "eu"},
        source=source,
    )


def test_quota_crud_and_errors(control):
    _, client = control
    body = {"tenant_id": "t1", "meter": "calls", "limit": "10", "enforcement": "hard"}
    created = client.post(f"{BASE}/quotas", headers=ADMIN, json=body)
    assert created.status_code == 201, created.text
    quota = created.json()
    assert quota["alert_thresholds"] == ["80", "100"] and quota["limit"] == "10"
    assert client.post(f"{BASE}/quotas", headers=ADMIN, json=body).status_code == 409
    unknown = client.post(f"{BASE}/quotas", headers=ADMIN, json={**body, "meter": "nope"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "meter"
    negative = client.post(f"{BASE}/quotas", headers=ADMIN, json={**body, "limit": "-1"})
    assert negative.status_code == 422
    fine = client.post(f"{BASE}/quotas", headers=ADMIN, json={**body, "limit": "0.0000000001"})
    assert fine.status_code == 422 and fine.json()["field"] == "limit"
    bad_pct = client.post(
        f"{BASE}/quotas", headers=ADMIN, json={**body, "tenant_id": "t2", "alert_thresholds": [0]}
    )
    assert bad_pct.status_code == 422
    patched = client.patch(
        f"{BASE}/quotas/{quota['id']}",
        headers=ADMIN,
        json={"limit": "20", "alert_thresholds": ["50", "100.0"]},
    )
    assert patched.json()["limit"] == "20" and patched.json()["alert_thresholds"] == ["50", "100"]
    assert client.get(f"{BASE}/quotas?tenant_id=t1", headers=ADMIN).json()["count"] == 1
    assert client.get(f"{BASE}/quotas/999", headers=ADMIN).status_code == 404
    assert client.get(f"{BASE}/quotas").status_code == 401
    assert client.delete(f"{BASE}/quotas/{quota['id']}", headers=ADMIN).status_code == 200
    assert client.get(f"{BASE}/quotas", headers=ADMIN).json()["count"] == 0
    check = client.get(f"{BASE}/quotas/t1/check?meter=nope", headers=ADMIN)
    assert check.status_code == 404
    neg = client.get(f"{BASE}/quotas/t1/check?meter=calls&quantity=-1", headers=ADMIN)
    assert neg.status_code == 422


def test_tenant_keys_see_only_their_quotas(control):
    settings, client = control
    key = client.post(f"{BASE}/api-keys", headers=ADMIN, json={"tenant_id": "t1"}).json()["key"]
    mine = {"X-API-Key": key}
    client.post(
        f"{BASE}/quotas", headers=ADMIN, json={"tenant_id": "t1", "meter": "calls", "limit": "5"}
    )
    theirs = client.post(
        f"{BASE}/quotas", headers=ADMIN, json={"tenant_id": "t2", "meter": "calls", "limit": "5"}
    ).json()
    assert client.get(f"{BASE}/quotas/t1/check?meter=calls", headers=mine).status_code == 200
    assert client.get(f"{BASE}/quotas/t2/check?meter=calls", headers=mine).status_code == 403
    # Another tenant's quota is not found, as an id that does not exist; the owner is not named.
    other = client.get(f"{BASE}/quotas/{theirs['id']}", headers=mine)
    unknown = client.get(f"{BASE}/quotas/987654", headers=mine)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"].replace(str(theirs["id"]), "987654") == unknown.json()["detail"]
    assert client.get(f"{BASE}/realtime-cost/t2", headers=mine).status_code == 403
    assert client.get(f"{BASE}/alerts?tenant_id=t2", headers=mine).status_code == 403
    assert (
        client.post(
            f"{BASE}/quotas", headers=mine, json={"tenant_id": "t1", "meter": "calls", "limit": "9"}
        ).status_code
        == 403
    )


def test_hard_quota_blocks_at_the_limit_and_soft_warns(control):
    settings, client = control
    client.post(
        f"{BASE}/quotas",
        headers=ADMIN,
        json={"tenant_id": "t1", "meter": "calls", "limit": "10", "enforcement": "hard"},
    )
    client.post(
        f"{BASE}/quotas",
        headers=ADMIN,
        json={"tenant_id": "t1", "meter": "value_sum", "limit": "5", "enforcement": "soft"},
    )
    feed(settings, [call(i) for i in range(9)])
    check = client.get(f"{BASE}/quotas/t1/check?meter=calls&quantity=1", headers=ADMIN).json()
    assert check == {
        "tenant_id": "t1",
        "meter": "calls",
        "period_start": "2026-11-01",
        "allowed": True,
        "warning": False,
        "used": "9",
        "quantity": "1",
        "remaining": "1",
        "limit": "10",
        "enforcement": "hard",
    }
    assert not client.get(f"{BASE}/quotas/t1/check?meter=calls&quantity=2", headers=ADMIN).json()[
        "allowed"
    ]
    feed(settings, [call(9)])  # the 10th call: at the limit
    at_limit = client.get(f"{BASE}/quotas/t1/check?meter=calls&quantity=1", headers=ADMIN).json()
    assert (at_limit["allowed"], at_limit["remaining"], at_limit["used"]) == (False, "0", "10")
    assert client.get(f"{BASE}/quotas/t1/check?meter=calls", headers=ADMIN).json()["allowed"]
    # Soft: the sum is 10 (ten events of value 1) against a limit of 5: allowed, with a warning.
    soft = client.get(f"{BASE}/quotas/t1/check?meter=value_sum&quantity=1", headers=ADMIN).json()
    assert (soft["allowed"], soft["warning"], soft["used"]) == (True, True, "10")
    # No quota: allowed, no limit; another tenant has used nothing.
    free = client.get(f"{BASE}/quotas/t1/check?meter=users", headers=ADMIN).json()
    assert free["allowed"] and free["limit"] is None and free["used"] == "1"
    other = client.get(f"{BASE}/quotas/t2/check?meter=calls&quantity=1", headers=ADMIN).json()
    assert other["used"] == "0" and other["allowed"]
    status = client.get(f"{BASE}/quotas/t1/status", headers=ADMIN).json()
    assert [(q["meter"], q["percent_used"], q["thresholds_reached"]) for q in status["data"]] == [
        ("calls", "100", ["80", "100"]),
        ("value_sum", "200", ["80", "100"]),
    ]


def test_every_aggregation_counted_like_the_warehouse(control):
    settings, client = control
    events = [
        call(1, value=5, user="a", day=2),
        call(2, value=3, user="b", day=9),  # latest by event time
        call(3, value=7, user="a", day=4),
        call(3, value=7, user="a", day=4),  # duplicate: skipped
        call(4, value="1.25", user="c", day=5, source="other"),
        b"not json",
        {**call(5), "type": "unknown.type"},
    ]
    result = feed(settings, events)
    assert (result.counted, result.duplicates, result.rejected) == (4, 1, 2)
    usage = client.get(f"{BASE}/realtime-cost/t1", headers=ADMIN).json()["usage"]
    assert usage == {
        "calls": "4",
        "value_sum": "16.25",
        "value_max": "7",
        "users": "3",
        "value_latest": "3",
    }
    # Replayed (a restart re-reading the batch): nothing changes.
    again = feed(settings, events)
    assert again.counted == 0 and again.duplicates == 5
    assert client.get(f"{BASE}/realtime-cost/t1", headers=ADMIN).json()["usage"] == usage


def test_dedup_state_kept_for_two_periods_and_older_events_not_counted(control):
    settings, _client = control
    now = [datetime(2026, 11, 16)]
    consumer = RealtimeConsumer(settings, clock=lambda: now[0])

    def at(i, when, user):
        return cloud_event(f"r{i}", "t1", when, {"value": 1, "user_id": user, "region": "eu"})

    def state():
        with session_scope(settings) as session:
            seen = session.execute(
                select(RealtimeSeenEvent.event_id, RealtimeSeenEvent.period_start)
            ).all()
            values = session.execute(
                select(RealtimeDistinctValue.value, RealtimeDistinctValue.period_start)
            ).all()
            calls = {
                r.period_start: r.quantity
                for r in session.scalars(
                    select(RealtimeUsage).where(RealtimeUsage.meter_key == "calls")
                )
            }
        return sorted(seen), sorted(values), calls

    november, october = at(1, datetime(2026, 11, 3), "a"), at(2, datetime(2026, 10, 20), "b")
    result = consumer.process(
        [orjson.dumps(e) for e in (november, october, at(3, datetime(2026, 9, 10), "c"))], {}, {}
    )
    assert (result.counted, result.expired) == (2, 1)  # September is older than October
    seen, values, calls = state()
    assert seen == [("r1", date(2026, 11, 1)), ("r2", date(2026, 10, 1))]
    assert values == [("a", date(2026, 11, 1)), ("b", date(2026, 10, 1))]

    # December: October's keys and values go; an October event is no longer counted, even
    # replayed; November's keys still catch a replay. A restarted consumer behaves the same.
    now[0] = datetime(2026, 12, 2)
    for run in (consumer, RealtimeConsumer(settings, clock=lambda: now[0])):
        result = run.process(
            [orjson.dumps(e) for e in (october, november, at(4, datetime(2026, 12, 1), "d"))],
            {},
            {},
        )
        seen, values, calls = state()
        assert seen == [("r1", date(2026, 11, 1)), ("r4", date(2026, 12, 1))]
        assert values == [("a", date(2026, 11, 1)), ("d", date(2026, 12, 1))]
        assert calls == {
            date(2026, 10, 1): Decimal(1),  # the real-time total of October stays as it was
            date(2026, 11, 1): Decimal(1),
            date(2026, 12, 1): Decimal(1),
        }
    assert (result.counted, result.duplicates, result.expired) == (0, 2, 1)


def test_thresholds_and_milestones_fire_once_out_of_order_and_twice(control):
    settings, client = control
    client.post(
        f"{BASE}/quotas",
        headers=ADMIN,
        json={"tenant_id": "t1", "meter": "calls", "limit": "4", "alert_thresholds": [50, 100]},
    )
    milestone = client.post(
        f"{BASE}/milestones", headers=ADMIN, json={"meter": "calls", "levels": ["3", "1000"]}
    )
    assert milestone.status_code == 201 and milestone.json()["levels"] == ["3", "1000"]
    assert (
        client.post(
            f"{BASE}/milestones", headers=ADMIN, json={"meter": "nope", "levels": [1]}
        ).status_code
        == 422
    )
    # Out of order (later days first), with duplicates within and across batches.
    feed(settings, [call(5, day=14), call(4, day=12), call(4, day=12)])  # 2 calls: 50%
    feed(settings, [call(3, day=10), call(5, day=14)])  # 3 calls: milestone 3
    feed(settings, [call(1, day=2), call(2, day=5), call(6, day=1)])  # 6 calls: 100%
    feed(settings, [call(i, day=1) for i in range(7, 12)])  # more: nothing new
    alerts = client.get(f"{BASE}/alerts?tenant_id=t1", headers=ADMIN).json()
    fired = sorted((a["kind"], a["threshold"], a["value"]) for a in alerts["data"])
    assert fired == [("milestone", "3", "3"), ("quota", "100", "6"), ("quota", "50", "2")]
    assert alerts["count"] == 3
    assert all(a["source"] == "realtime" for a in alerts["data"])
    assert all(a["delivery"]["status"] == "pending" for a in alerts["data"])
    milestones = client.get(f"{BASE}/alerts?kind=milestone", headers=ADMIN).json()["data"]
    assert [(m["meter"], m["fired_at"]) for m in milestones] == [("calls", "2026-11-16T00:00:00Z")]
    # A second process firing the same crossing (the warehouse sensor) does nothing.
    from billing.control_plane.db import session_scope
    from billing.services.alerts import fire

    with session_scope(settings) as session:
        assert (
            fire(
                session,
                kind="quota",
                tenant_id="t1",
                meter_key="calls",
                period_start=date(2026, 11, 1),
                threshold=Decimal("100.0"),
                value=Decimal(6),
                source="warehouse",
                now=NOW,
            )
            is None
        )
    assert client.get(f"{BASE}/alerts", headers=ADMIN).json()["count"] == 3


def test_realtime_cost_and_budget_alerts(control):
    settings, client = control
    plan = {
        "code": "metered",
        "name": "Metered",
        "currency": "USD",
        "base_fee": {"amount": "10"},
        "charges": [
            {"meter": "calls", "price": {"model": "per_unit", "unit_amount": "0.5"}},
            {
                "meter": "value_max",
                "price": {"model": "per_unit", "unit_amount": "1"},
                "minimum_amount": "20",
            },
        ],
    }
    assert client.post(f"{BASE}/plans", headers=ADMIN, json=plan).status_code == 201
    sub = client.post(
        f"{BASE}/subscriptions",
        headers=ADMIN,
        json={"tenant_id": "t1", "plan_code": "metered", "start_at": "2026-10-01T00:00:00Z"},
    )
    assert sub.status_code == 201, sub.text
    budget = client.put(
        f"{BASE}/budgets/t1",
        headers=ADMIN,
        json={"currency": "USD", "amount": "20", "alert_thresholds": [50, 90]},
    )
    assert budget.status_code == 200 and budget.json()["alert_thresholds"] == ["50", "90"]
    assert (
        client.put(
            f"{BASE}/budgets/t1", headers=ADMIN, json={"currency": "XXX", "amount": "1"}
        ).status_code
        == 422
    )
    feed(settings, [call(i, value=4) for i in range(6)])
    cost = client.get(f"{BASE}/realtime-cost/t1", headers=ADMIN).json()
    # 10 base + 6 calls x 0.5 + max 4 x 1 = 17.00; projected: 12 calls (6 x 30/15) -> 6.00,
    # max stays 4 -> 4.00, true-up of the 20.00 minimum: 16.00; 10 + 6 + 4 + 16 = 36.00.
    assert cost["currency"] == "USD"
    assert cost["month_to_date"] == "17"
    assert cost["projected_month_end"] == "36"
    assert [(line["kind"], line["amount"], line["projected_amount"]) for line in cost["lines"]] == [
        ("base_fee", "10", "10"),
        ("usage", "3", "6"),
        ("usage", "4", "4"),
        ("minimum_commitment", "0", "16"),
    ]
    # 17 of a 20 budget: the 50% threshold fired (10), the 90% one (18) not yet.
    budget_alerts = client.get(f"{BASE}/alerts?kind=budget", headers=ADMIN).json()["data"]
    assert [(a["threshold"], a["value"], a["limit"]) for a in budget_alerts] == [("50", "17", "20")]
    feed(settings, [call(10 + i, value=1) for i in range(2)])  # 18 spent
    budget_alerts = client.get(f"{BASE}/alerts?kind=budget", headers=ADMIN).json()["data"]
    assert sorted(a["threshold"] for a in budget_alerts) == ["50", "90"]
    previous = client.get(f"{BASE}/realtime-cost/t1?period_start=2026-10-01", headers=ADMIN)
    assert previous.json()["month_to_date"] == "10"  # base fee only, no usage in October
    assert (
        client.get(f"{BASE}/realtime-cost/t1?period_start=2026-10-02", headers=ADMIN).status_code
        == 422
    )


def test_quota_check_cache_serves_new_totals_within_a_fraction_of_a_second(control):
    settings, client = control
    cache = client.app.state.quota_cache
    cache.max_age = 1.0  # as in production: the background thread refreshes every 0.1 s
    url = f"{BASE}/quotas/t1/check?meter=calls"
    assert client.get(url, headers=ADMIN).json()["used"] == "0"
    feed(settings, [call(i) for i in range(3)])
    started = time.monotonic()
    while client.get(url, headers=ADMIN).json()["used"] != "3":
        assert time.monotonic() - started < 1.0
        time.sleep(0.01)
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "bk_0123456789abcdef_nope"}).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_cost_center_budgets_fire_once_per_threshold(control):
    # Rows as fct_cost_center_costs has them (children rolled up), read by the warehouse sensor.
    from billing.control_plane.db import session_scope
    from billing.services.alerts import evaluate_cost_center_budgets

    settings, client = control
    november = date(2026, 11, 1)

    def row(code, cost, budget, currency="USD", budget_currency="USD"):
        return {
            "billing_period_start": november,
            "currency": currency,
            "cost_center_code": code,
            "rolled_up_total_amount": Decimal(cost),
            "monthly_budget_amount": None if budget is None else Decimal(budget),
            "budget_currency": budget_currency,
        }

    rows = [
        row("payments", "85.00", "100"),  # 80% reached, 100% not
        row("platform", "150.00", "100"),  # both
        row("search", "500.00", "100", budget_currency="EUR"),  # not comparable
        row("data", "500.00", None),  # no budget
        row("edge", "79.99", "100"),  # below 80%
    ]
    with session_scope(settings) as session:
        first = evaluate_cost_center_budgets(session, rows, "warehouse", NOW)
    with session_scope(settings) as session:
        again = evaluate_cost_center_budgets(session, rows, "warehouse", NOW)
    assert len(first) == 3 and again == []
    alerts = client.get(f"{BASE}/alerts?kind=budget", headers=ADMIN).json()["data"]
    assert sorted((a["scope"], a["threshold"], a["value"], a["limit"]) for a in alerts) == [
        ("cost_center:payments", "80", "85", "100"),
        ("cost_center:platform", "100", "150", "100"),
        ("cost_center:platform", "80", "150", "100"),
    ]


def test_milestones_of_a_tenant_are_its_own_and_every_tenants(control):
    _settings, client = control
    for tenant in ("t1", "t2", None):
        body = {"meter": "calls", "levels": ["10"], "tenant_id": tenant}
        assert client.post(f"{BASE}/milestones", headers=ADMIN, json=body).status_code == 201
    key = client.post(f"{BASE}/api-keys", headers=ADMIN, json={"tenant_id": "t1"}).json()["key"]
    mine = {"X-API-Key": key}

    def tenants(headers, query=""):
        response = client.get(f"{BASE}/milestones{query}", headers=headers)
        assert response.status_code == 200, response.text
        return sorted(str(m["tenant_id"]) for m in response.json()["data"])

    assert tenants(mine) == tenants(mine, "?tenant_id=t1") == ["None", "t1"]
    assert tenants(ADMIN) == ["None", "t1", "t2"]
    assert tenants(ADMIN, "?tenant_id=t2") == ["None", "t2"]
    refused = client.get(f"{BASE}/milestones?tenant_id=t2", headers=mine)
    assert refused.status_code == 403 and "t2" not in refused.json()["detail"]
