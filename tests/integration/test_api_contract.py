"""The API's contract: one error body for every error status, timestamps with their offset,
and an OpenAPI document that says so (the fuzz test checks every operation against it)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from billing.rules.alerts import alert_cloud_event
from tests.conftest import ADMIN_KEY, seed_meters
from tests.plans import plan

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
ERROR_KEYS = {"code", "message", "field", "detail", "errors"}
ERROR_STATUSES = ("400", "401", "403", "404", "409", "422", "503")


@pytest.fixture
def client(settings):
    seed_meters(settings)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["detail"], str) and isinstance(body["errors"], list)
    return body


def test_every_error_status_has_the_same_body(client):
    tenant = client.post(f"{BASE}/api-keys", json={"tenant_id": "t1"}, headers=ADMIN).json()
    tenant_headers = {"X-API-Key": tenant["key"]}

    missing = error(client.get(f"{BASE}/meters"), 401)
    assert missing["code"] == "unauthorized" and "API key" in missing["message"]
    assert missing["detail"] == missing["message"] and missing["field"] is None
    assert error(client.get(f"{BASE}/meters", headers={"X-API-Key": "x"}), 401)["code"] == (
        "unauthorized"
    )

    forbidden = error(client.get(f"{BASE}/api-keys", headers=tenant_headers), 403)
    assert forbidden == {
        "code": "forbidden",
        "message": "this endpoint needs the admin key",
        "field": None,
        "detail": "this endpoint needs the admin key",
        "errors": [],
    }

    assert error(client.get(f"{BASE}/meters/nope", headers=ADMIN), 404)["code"] == "not_found"
    assert error(client.get(f"{BASE}/no-such-route", headers=ADMIN), 404)["code"] == "not_found"
    assert error(client.get(f"{BASE}/plans/p/versions/x", headers=ADMIN), 422)["field"] == (
        "path.version"
    )

    meter = {"key": "calls", "event_type": "x.y", "aggregation": "count", "unit": "call"}
    assert error(client.post(f"{BASE}/meters", json=meter, headers=ADMIN), 409)["code"] == (
        "conflict"
    )

    bad_json = error(client.post(f"{BASE}/usage", content=b"{nope", headers=ADMIN), 400)
    assert bad_json["code"] == "bad_request" and "not valid JSON" in bad_json["detail"]


def test_validation_errors_name_each_field(client):
    body = {"currency": "USD", "quantity": "six", "price": {"model": "per_unit"}}
    invalid = error(client.post(f"{BASE}/pricing/calculate", json=body, headers=ADMIN), 422)
    assert invalid["code"] == "validation_error"
    assert invalid["field"] == "quantity"
    assert invalid["detail"] == "quantity: Input should be a valid decimal"
    assert invalid["errors"] == [
        {
            "code": "decimal_parsing",
            "message": "Input should be a valid decimal",
            "field": "quantity",
        }
    ]

    several = error(client.get(f"{BASE}/usage?limit=0&offset=-1", headers=ADMIN), 422)
    assert [e["field"] for e in several["errors"]] == ["query.limit", "query.offset"]
    assert several["field"] == "query.limit" and several["detail"].count(";") == 1

    # A domain rule (not a type) names its field the same way.
    meter = {"key": "bad key!", "event_type": "x.y", "aggregation": "count", "unit": "u"}
    domain = error(client.post(f"{BASE}/meters", json=meter, headers=ADMIN), 422)
    assert domain["code"] == "invalid" and domain["field"] == "key"
    assert domain["detail"] == f"key: {domain['message']}"
    assert domain["errors"] == [{"code": "invalid", "message": domain["message"], "field": "key"}]

    # A number is not a date (pydantic alone would read 0 as 1970-01-01).
    for value in ["0", "0.0", "20261101", "2026-11"]:
        url = f"{BASE}/costs/coverage?period_start={value}"
        refused = error(client.get(url, headers=ADMIN), 422)
        assert refused["field"] == "query.period_start" and "YYYY-MM-DD" in refused["message"]

    # An id beyond the `integer` column (32-bit on PostgreSQL) or an offset beyond 64 bits is a
    # 422 naming it, not an overflow in the database driver (a 500).
    refused = error(client.get(f"{BASE}/quotas/{2**31}", headers=ADMIN), 422)
    assert refused["field"] == "path.quota_id"
    assert error(client.get(f"{BASE}/quotas/{2**31 - 1}", headers=ADMIN), 404)["code"] == (
        "not_found"
    )
    refused = error(client.get(f"{BASE}/alerts?offset={2**63}", headers=ADMIN), 422)
    assert refused["field"] == "query.offset"

    # Money the database cannot hold exactly (numeric(38, 12), numeric(9, 6)) is refused,
    # never rounded or overflowed by the database.
    for path, payload, field in [
        ("/tenants/t1/credits", {"amount": "1e26", "currency": "USD"}, "amount"),
        ("/tax-rates", {"code": "V", "name": "V", "percentage": "19.1234567"}, "percentage"),
        (
            "/pricing/calculate",
            {**body, "quantity": "1", "price": {"model": "per_unit", "unit_amount": "1E+26"}},
            "price.unit_amount",
        ),
    ]:
        refused = error(client.post(f"{BASE}{path}", json=payload, headers=ADMIN), 422)
        assert refused["field"] == field, refused


def test_a_nul_character_is_refused_naming_its_field(client):
    # PostgreSQL text cannot hold it: refused at the door, not a driver error (a 500).
    for request, field in [
        (client.get(f"{BASE}/meters/a%00b", headers=ADMIN), "path.key"),
        (client.get(f"{BASE}/alerts?meter=a%00", headers=ADMIN), "query.meter"),
        (
            client.post(
                f"{BASE}/cost-centers",
                content=b'{"code": "ok", "name": "x", "owner": "b\\u0000"}',
                headers={**ADMIN, "Content-Type": "application/json"},
            ),
            "owner",
        ),
        (
            client.post(
                f"{BASE}/pricing/quote",
                content=b'{"plan_code": "p", "usage": {"calls": "1", "x\\u0000": "2"}}',
                headers={**ADMIN, "Content-Type": "application/json"},
            ),
            "usage",
        ),
    ]:
        refused = error(request, 422)
        assert refused["code"] == "validation_error" and refused["field"] == field, refused
        assert "NUL" in refused["message"]
    assert client.get(f"{BASE}/cost-centers/ok", headers=ADMIN).status_code == 404


def test_timestamps_are_written_in_utc_with_an_offset(client):
    meter = client.get(f"{BASE}/meters/calls", headers=ADMIN).json()
    created = meter["created_at"]
    assert created.endswith("Z"), created
    assert datetime.fromisoformat(created).tzinfo is not None

    pro = plan("pro", "Pro", {"amount": "30", "timing": "in_advance"})
    assert client.post(f"{BASE}/plans", json=pro, headers=ADMIN).status_code == 201
    # Read with an offset or without one (UTC); written back in UTC with its offset.
    for start_at, expected in [
        ("2026-11-03T12:00:00+02:00", "2026-11-03T10:00:00Z"),
        ("2026-11-03T12:00:00", "2026-11-03T12:00:00Z"),
    ]:
        sub = client.post(
            f"{BASE}/subscriptions",
            json={"tenant_id": f"t-{len(start_at)}", "plan_code": "pro", "start_at": start_at},
            headers=ADMIN,
        )
        assert sub.status_code == 201, sub.text
        assert sub.json()["started_at"] == expected
        assert sub.json()["phases"][0]["starts_at"] == expected
    refused = client.post(
        f"{BASE}/subscriptions",
        json={"tenant_id": "t", "plan_code": "pro", "start_at": 1_700_000_000},
        headers=ADMIN,
    )
    assert error(refused, 422)["field"] == "start_at"


def test_alert_cloud_events_carry_utc_with_an_offset():
    naive = datetime(2026, 11, 16, 8, 30)
    event = orjson.loads(
        alert_cloud_event({"kind": "threshold", "tenant_id": "t1", "crossed_at": naive})
    )
    assert event["time"].endswith("Z")
    assert event["data"]["crossed_at"] == "2026-11-16T08:30:00Z"
    assert datetime.fromisoformat(event["time"]) <= datetime.now(UTC)


def test_the_document_promises_the_error_body_on_every_operation(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Error"]["required"]) == ERROR_KEYS
    operations = [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) > 80
    for method, path, op in operations:
        for status in ERROR_STATUSES:
            content = op["responses"][status]["content"]["application/json"]["schema"]
            refs = [content.get("$ref")] + [s.get("$ref") for s in content.get("anyOf", [])]
            assert "#/components/schemas/Error" in refs, (method, path, status)
    # Every datetime of a response is documented as an RFC 3339 date-time.
    assert schemas["MeterPublic"]["properties"]["created_at"]["format"] == "date-time"
