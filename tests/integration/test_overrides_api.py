"""Per-subscription price overrides through the API, on a real control plane: validation
(422 naming the field), versions, the admin key, and what plan changes do to them."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.conftest import ADMIN_KEY, Clock, seed_meters
from tests.plans import per_unit, plan, tiered

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"

STD = plan(
    "std",
    "Standard",
    "20",
    per_unit("calls", "0.10"),
    tiered("value_sum", "graduated", ("100", "0.05"), (None, "0.02")),
)
LITE = plan("lite", "Lite", "5", per_unit("calls", "0.20"))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 2, 10, 12, 0))


def _client(settings, clock):
    seed_meters(settings)
    app = create_app(settings)
    app.state.clock = clock
    with TestClient(app) as test_client:
        for plan in (STD, LITE):
            assert test_client.post(f"{BASE}/plans", json=plan, headers=ADMIN).status_code == 201
        yield test_client


@pytest.fixture
def client(settings, clock):
    yield from _client(settings, clock)


@pytest.fixture
def pg_client(make_settings, pg_database, clock):
    """The same on a PostgreSQL control plane (row locks, transactions)."""
    yield from _client(make_settings(control_db_url=pg_database), clock)


def subscribe(client, tenant="t1") -> str:
    response = client.post(
        f"{BASE}/subscriptions",
        json={"tenant_id": tenant, "plan_code": "std", "start_at": "2026-01-01T00:00:00Z"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def put(client, sub, body, headers=ADMIN):
    return client.put(f"{BASE}/subscriptions/{sub}/overrides", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"charges": [{"meter": "users", "unit_amount": "1"}]}, "charges[0].meter"),
        ({"charges": [{"meter": "calls", "unit_amount": "-1"}]}, "charges[0].unit_amount"),
        ({"charges": [{"meter": "calls", "package_size": "5"}]}, "charges[0].package_size"),
        ({"charges": [{"meter": "calls", "free_units": "-2"}]}, "charges[0].free_units"),
        ({"charges": [{"meter": "calls", "minimum_amount": "-2"}]}, "charges[0].minimum_amount"),
        (
            {
                "charges": [
                    {"meter": "calls", "unit_amount": "0.01"},
                    {
                        "meter": "value_sum",
                        "tiers": [
                            {"up_to": "100", "unit_amount": "1"},
                            {"up_to": "50", "unit_amount": "1"},
                            {"up_to": None, "unit_amount": "1"},
                        ],
                    },
                ]
            },
            "charges[1].tiers[1].up_to",
        ),
        ({"base_fee_amount": "-1"}, "base_fee_amount"),
        ({"effective_from": "2026-02-15T00:00:00Z"}, "effective_from"),
        ({"effective_from": "2026-01-01T00:00:00Z"}, "effective_from"),
        ({"charges": [{"meter": "calls", "unit_amount": "x"}]}, "charges.0.unit_amount"),
    ],
)
def test_invalid_overrides_are_a_422_naming_the_field(client, body, field):
    sub = subscribe(client)
    response = put(client, sub, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert listed["count"] == 0  # nothing written


def test_versions_are_kept_and_tenant_keys_only_read(client, clock):
    sub = subscribe(client)
    first = put(client, sub, {"charges": [{"meter": "calls", "unit_amount": "0.05"}]})
    assert first.status_code == 200, first.text
    assert first.json()["effective_from"] == "2026-02-01T00:00:00Z"
    assert first.json()["charges"][0]["overridden"] == {"unit_amount": "0.05"}
    later = put(
        client, sub, {"effective_from": "2026-04-01T00:00:00Z", "base_fee_amount": "15"}
    ).json()
    assert (later["version"], later["base_fee_amount"], later["charges"]) == (2, "15", [])
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [v["version"] for v in listed["data"]] == [1, 2]
    assert listed["current_version"] == 1  # version 2 starts in April
    # Replacing from March on supersedes the April version (kept as history).
    put(client, sub, {"effective_from": "2026-03-01T00:00:00Z"})
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [(v["version"], v["superseded_at"] is not None) for v in listed["data"]] == [
        (1, False),
        (2, True),
        (3, False),
    ]
    key = client.post(f"{BASE}/api-keys", json={"tenant_id": "t1"}, headers=ADMIN).json()["key"]
    tenant = {"X-API-Key": key}
    assert client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=tenant).status_code == 200
    assert put(client, sub, {}, headers=tenant).status_code == 403


def negotiated(client, **value_sum) -> str:
    """A subscription to std with a base fee of 18, calls at 0.05 and ``value_sum`` overridden."""
    sub = subscribe(client)
    charges = [{"meter": "calls", "unit_amount": "0.05"}, {"meter": "value_sum", **value_sum}]
    response = put(client, sub, {"base_fee_amount": "18", "charges": charges})
    assert response.status_code == 200, response.text
    return sub


def test_a_plan_change_keeps_what_the_new_plan_has(client):
    sub = negotiated(client, free_units="100")
    # A downgrade waits for the period end; the overrides it keeps start then.
    changed = client.post(
        f"{BASE}/subscriptions/{sub}/change-plan", json={"plan_code": "lite"}, headers=ADMIN
    ).json()
    assert changed["dropped_overrides"] == ["base_fee", "value_sum"]
    assert changed["events"][-1]["details"]["dropped_overrides"] == ["base_fee", "value_sum"]
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [(v["plan_code"], v["effective_from"], v["reason"]) for v in listed["data"]] == [
        ("std", "2026-02-01T00:00:00Z", "replaced"),
        ("lite", "2026-03-01T00:00:00Z", "plan_change"),
    ]
    assert listed["data"][1]["charges"][0]["price"]["unit_amount"] == "0.05"
    # Choosing std again withdraws the change and the version made for it.
    again = client.post(
        f"{BASE}/subscriptions/{sub}/change-plan", json={"plan_code": "std"}, headers=ADMIN
    ).json()
    assert again["pending_plan_code"] is None and again["dropped_overrides"] == []
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [v["superseded_at"] is not None for v in listed["data"]] == [False, True]


def test_replacing_before_a_scheduled_change_versions_both_plans(client):
    sub = subscribe(client)
    client.post(
        f"{BASE}/subscriptions/{sub}/change-plan", json={"plan_code": "lite"}, headers=ADMIN
    )
    put(client, sub, {"charges": [{"meter": "value_sum", "free_units": "10"}]})
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [(v["plan_code"], len(v["charges"])) for v in listed["data"]] == [
        ("std", 1),
        ("lite", 0),
    ]
    # Overriding a charge only the new plan lacks is checked against the plan in force then.
    late = put(
        client,
        sub,
        {"effective_from": "2026-03-01T00:00:00Z", "charges": [{"meter": "value_sum"}]},
    )
    assert (late.status_code, late.json()["field"]) == (422, "charges[0].meter")


def test_the_base_fee_override_prices_the_proration_preview(client, clock):
    sub = subscribe(client)
    put(client, sub, {"base_fee_amount": "8"})
    clock.now = datetime(2026, 2, 15, 9, 0)  # 14 of 28 days left
    changed = client.post(
        f"{BASE}/subscriptions/{sub}/change-plan",
        json={"plan_code": "lite", "timing": "immediate"},
        headers=ADMIN,
    ).json()
    # credit 8 x 14/28 = -4.00 (not the plan's 20: -10.00); lite 5 x 14/28 = 2.50
    assert [p["amount"] for p in changed["proration"]] == ["-4.00", "2.50"]
    assert changed["dropped_overrides"] == ["base_fee"]


# ----------------------------------------------------------------------------- migrations
# std v2: base fee 25, calls dearer, value_sum per unit (a tiers override no longer fits).
STD_V2 = plan("std", "Standard", "25", per_unit("calls", "0.12"), per_unit("value_sum", "0.01"))


def new_std_version(client) -> int:
    body = {k: v for k, v in STD_V2.items() if k != "code"}
    response = client.put(f"{BASE}/plans/std", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["version"]


def migrate(client, sub, body=None):
    return client.post(f"{BASE}/subscriptions/{sub}/migrate", json=body or {}, headers=ADMIN)


def test_a_migration_keeps_the_overrides_that_still_fit(client, clock):
    sub = negotiated(client, tiers=[{"up_to": None, "unit_amount": "0.01"}])
    assert new_std_version(client) == 2
    clock.now = datetime(2026, 2, 15, 9, 0)  # 14 of 28 days left
    # v2's base fee is not lower: the default is immediately, prorated.
    response = migrate(client, sub)
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["plan_code"], moved["plan_version"]) == ("std", 2)
    # The tiers override does not fit v2's per-unit value_sum; calls and the base fee stay.
    assert moved["dropped_overrides"] == ["value_sum"]
    # The kept base-fee override prices both lines: 18 x 14/28 out, 18 x 14/28 in.
    assert [p["amount"] for p in moved["proration"]] == ["-9.00", "9.00"]
    assert [(p["plan_version"], p["reason"]) for p in moved["phases"]] == [
        (1, "created"),
        (2, "migration"),
    ]
    event = moved["events"][-1]
    assert (event["kind"], event["details"]["to_plan"]) == ("plan_migrated", "std v2")
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert [
        (v["plan_version"], v["reason"], v["effective_from"], v["base_fee_amount"])
        for v in listed["data"]
    ] == [
        (1, "replaced", "2026-02-01T00:00:00Z", "18"),
        (2, "migration", "2026-02-15T09:00:00Z", "18"),
    ]
    assert listed["current_version"] == 2
    assert [(c["meter"], c["price"]["unit_amount"]) for c in listed["data"][1]["charges"]] == [
        ("calls", "0.05")
    ]
    # Migrating to the version in force changes nothing: 409.
    again = migrate(client, sub)
    assert again.status_code == 409, again.text
    # An older version is refused, naming the field.
    older = migrate(client, sub, {"version": 1})
    assert (older.status_code, older.json()["field"]) == (422, "version")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"version": 7}, 422, "version"),
        ({"version": 0}, 422, "version"),
        ({"timing": "soon"}, 422, "timing"),
        ({"timing": "period_end", "at": "2026-02-20T00:00:00Z"}, 422, "at"),
        ({"timing": "immediate", "at": "2026-01-20T00:00:00Z"}, 422, "at"),
        ({"plan_code": "lite"}, 422, "plan_code"),
    ],
)
def test_bad_migrations_name_the_field_and_write_nothing(client, body, status, field):
    sub = subscribe(client)
    put(client, sub, {"charges": [{"meter": "calls", "unit_amount": "0.05"}]})
    new_std_version(client)
    response = migrate(client, sub, body)
    assert (response.status_code, response.json()["field"]) == (status, field), response.text
    after = client.get(f"{BASE}/subscriptions/{sub}", headers=ADMIN).json()
    assert [p["plan_version"] for p in after["phases"]] == [1]
    listed = client.get(f"{BASE}/subscriptions/{sub}/overrides", headers=ADMIN).json()
    assert listed["count"] == 1


def test_without_a_newer_version_a_migration_is_a_409(client):
    sub = subscribe(client)
    response = migrate(client, sub)
    assert response.status_code == 409, response.text
    assert "already on std v1" in response.json()["message"]


@pytest.mark.parametrize("control_plane", ["sqlite", "postgres"])
def test_a_plan_wide_migration_answers_per_subscription(request, control_plane):
    client = request.getfixturevalue("client" if control_plane == "sqlite" else "pg_client")
    on_v1 = subscribe(client, "t1")
    put(client, on_v1, {"base_fee_amount": "18"})
    leaving = subscribe(client, "t2")
    client.post(
        f"{BASE}/subscriptions/{leaving}/change-plan", json={"plan_code": "lite"}, headers=ADMIN
    )
    new_std_version(client)
    on_v2 = subscribe(client, "t3")  # created on v2: not listed
    url = f"{BASE}/plans/std/versions/2/migrate"
    bad = client.post(url, json={"timing": "period_end", "at": "2026-02-20"}, headers=ADMIN)
    assert (bad.status_code, bad.json()["field"]) == (422, "at")
    missing = client.post(f"{BASE}/plans/std/versions/9/migrate", json={}, headers=ADMIN)
    assert (missing.status_code, missing.json()["field"]) == (404, "version")
    response = client.post(url, json={"timing": "period_end"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["plan_version"], answer["count"]) == (2, 2)
    first, second = answer["data"]
    assert (first["subscription_id"], first["status"], first["effective_at"]) == (
        on_v1,
        "scheduled",
        "2026-03-01T00:00:00Z",
    )
    assert (first["from_plan_version"], first["dropped_overrides"]) == (1, [])
    assert (second["subscription_id"], second["status"]) == (leaving, "skipped")
    assert "lite v1 is scheduled" in second["reason"]
    after = client.get(f"{BASE}/subscriptions/{on_v1}", headers=ADMIN).json()
    assert (after["pending_plan_code"], after["pending_change_at"]) == (
        "std",
        "2026-03-01T00:00:00Z",
    )
    assert after["events"][-1]["kind"] == "plan_migration_scheduled"
    listed = client.get(f"{BASE}/subscriptions/{on_v1}/overrides", headers=ADMIN).json()
    assert [(v["plan_version"], v["base_fee_amount"]) for v in listed["data"]] == [
        (1, "18"),
        (2, "18"),
    ]
    # Again: nothing changes; the scheduled one says so.
    again = client.post(url, json={"timing": "period_end"}, headers=ADMIN).json()
    assert [(d["subscription_id"], d["status"]) for d in again["data"]] == [
        (on_v1, "skipped"),
        (leaving, "skipped"),
    ]
    assert (
        client.get(f"{BASE}/subscriptions/{on_v2}", headers=ADMIN).json()["phases"][0][
            "plan_version"
        ]
        == 2
    )
    # Migrating to the version in force withdraws the scheduled migration and its overrides.
    back = migrate(client, on_v1, {"version": 1}).json()
    assert back["pending_plan_code"] is None
    listed = client.get(f"{BASE}/subscriptions/{on_v1}/overrides", headers=ADMIN).json()
    assert [v["superseded_at"] is not None for v in listed["data"]] == [False, True]
