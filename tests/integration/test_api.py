"""The API against real databases: keys and tenant isolation, meters, ingest, usage reads."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ingestion.landing import UsageLander
from tests.conftest import ADMIN_KEY, TEST_METERS, cloud_event, run_pipeline, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"


@pytest.fixture
def client(settings):
    seed_meters(settings)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def tenant_key(client, tenant: str) -> dict[str, str]:
    response = client.post(
        f"{BASE}/api-keys", json={"tenant_id": tenant, "name": "t"}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def recent(hours: float = 1) -> str:
    return (datetime.utcnow() - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- auth
def test_every_endpoint_needs_a_key(client):
    for method, path in [
        ("get", "/usage"),
        ("post", "/usage"),
        ("get", "/meters"),
        ("get", "/api-keys"),
        ("get", "/status"),
        ("get", "/usage/dead-letters"),
        ("get", "/usage/not-counted"),
    ]:
        response = getattr(client, method)(f"{BASE}{path}")
        assert response.status_code == 401, path
        assert "API key" in response.json()["detail"]
    assert client.get(f"{BASE}/usage", headers={"X-API-Key": "bk_nope"}).status_code == 401
    assert client.get(f"{BASE}/usage", headers={"X-API-Key": "wrong-admin"}).status_code == 401


def test_tenant_keys_are_stored_hashed_and_can_be_revoked(client, settings):
    created = client.post(f"{BASE}/api-keys", json={"tenant_id": "tenant-a"}, headers=ADMIN).json()
    key = created["key"]
    from billing.control_plane.db import session_scope
    from billing.control_plane.models import ApiKey

    with session_scope(settings) as session:
        row = session.get(ApiKey, created["id"])
        assert key not in (row.secret_hash, row.id) and len(row.secret_hash) == 64
    headers = {"X-API-Key": key}
    assert client.get(f"{BASE}/meters", headers=headers).status_code == 200
    listed = client.get(f"{BASE}/api-keys?tenant_id=tenant-a", headers=ADMIN).json()
    assert listed["count"] == 1 and "key" not in listed["data"][0]
    assert client.delete(f"{BASE}/api-keys/{created['id']}", headers=ADMIN).status_code == 200
    assert client.get(f"{BASE}/meters", headers=headers).status_code == 401
    # A key with the right id but a wrong secret is refused too.
    forged = key[: key.rindex("_") + 1] + "x" * 43
    assert client.get(f"{BASE}/meters", headers={"X-API-Key": forged}).status_code == 401


def test_admin_endpoints_refuse_tenant_keys(client):
    headers = tenant_key(client, "tenant-a")
    assert client.get(f"{BASE}/api-keys", headers=headers).status_code == 403
    meter = {"key": "x", "event_type": "x", "aggregation": "count"}
    assert client.post(f"{BASE}/meters", headers=headers, json=meter).status_code == 403
    assert client.get(f"{BASE}/usage/dead-letters", headers=headers).status_code == 403


# ----------------------------------------------------------------------------- meters
def test_meter_lifecycle_and_errors(client):
    body = {
        "key": "gpu_seconds",
        "event_type": "gpu.job",
        "aggregation": "sum",
        "value_property": "seconds",
        "unit": "s",
        "group_by": ["model"],
    }
    created = client.post(f"{BASE}/meters", json=body, headers=ADMIN)
    assert created.status_code == 201 and created.json()["group_by"] == ["model"]
    assert client.post(f"{BASE}/meters", json=body, headers=ADMIN).status_code == 409
    missing = client.post(
        f"{BASE}/meters", headers=ADMIN, json={**body, "key": "other", "value_property": None}
    )
    assert missing.status_code == 422 and missing.json()["detail"].startswith("value_property")
    bad = client.post(f"{BASE}/meters", headers=ADMIN, json={**body, "aggregation": "median"})
    assert bad.status_code == 422 and "aggregation" in bad.json()["detail"]
    extra = client.post(f"{BASE}/meters", headers=ADMIN, json={**body, "key": "k2", "price": 1})
    assert extra.status_code == 422 and "price" in extra.json()["detail"]
    renamed = client.patch(f"{BASE}/meters/gpu_seconds", json={"name": "GPU time"}, headers=ADMIN)
    assert renamed.json()["name"] == "GPU time"
    changed = client.patch(f"{BASE}/meters/gpu_seconds", json={"aggregation": "max"}, headers=ADMIN)
    assert changed.status_code == 422  # what a meter counts is permanent
    assert client.delete(f"{BASE}/meters/gpu_seconds", headers=ADMIN).status_code == 200
    assert client.delete(f"{BASE}/meters/gpu_seconds", headers=ADMIN).status_code == 409
    keys = [m["key"] for m in client.get(f"{BASE}/meters", headers=ADMIN).json()["data"]]
    assert "gpu_seconds" not in keys and "calls" in keys
    assert client.get(f"{BASE}/meters/nope", headers=ADMIN).status_code == 404


# ----------------------------------------------------------------------------- ingest
def test_ingest_validates_each_event_and_produces_the_valid_ones(client, settings):
    headers = tenant_key(client, "tenant-a")
    good = cloud_event("i-1", "tenant-a", recent(), {"value": 3, "user_id": "u"})
    other_tenant = cloud_event("i-2", "tenant-b", recent(), {"value": 3, "user_id": "u"})
    # Bad for every meter reading `value`, still counted by `calls` and `users`: accepted.
    bad_quantity = cloud_event("i-3", "tenant-a", recent(), {"value": "x", "user_id": "u"})
    response = client.post(
        f"{BASE}/usage",
        headers=headers,
        content=orjson.dumps([good, other_tenant, bad_quantity, 7]),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["not_counted"]) == (2, 2, 3)
    assert [r["code"] for r in body["results"]] == [
        None,
        "forbidden_tenant",
        None,
        "not_an_object",
    ]
    counted = {k: v["counted"] for k, v in body["results"][2]["meters"].items()}
    assert counted == {
        "calls": True,
        "users": True,
        "value_latest": False,
        "value_max": False,
        "value_sum": False,
    }
    assert body["results"][2]["reason"].startswith("accepted for calls, users; not counted for")
    # The accepted events are on Kafka: the landing finds exactly them.
    result = UsageLander(settings, meters=list(TEST_METERS)).run()
    assert result.total("landed") == 2 and result.total("dead_lettered") == 0
    assert result.total("not_counted") == 3
    # One event (not a list) works too; the admin key may send for any tenant.
    single = client.post(f"{BASE}/usage", headers=ADMIN, json=other_tenant)
    assert single.status_code == 202 and single.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("content", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[]", 422, "empty"),
        (orjson.dumps([{}] * 1001), 413, "at most 1000"),
        (orjson.dumps({"specversion": "1.0"}), 422, "missing required field"),
    ],
)
def test_ingest_errors_are_4xx_with_a_message(client, content, status, fragment):
    response = client.post(f"{BASE}/usage", headers=ADMIN, content=content)
    assert response.status_code == status
    assert fragment in response.text


def test_ingest_answers_503_when_kafka_is_down(settings):
    from ingestion.broker import free_port

    seed_meters(settings)
    down = settings.model_copy(
        update={
            "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
            "kafka_produce_timeout_seconds": 1.5,
        }
    )
    with TestClient(create_app(down)) as test_client:
        event = cloud_event("k-1", "tenant-a", recent(), {"value": 1, "user_id": "u"})
        response = test_client.post(f"{BASE}/usage", headers=ADMIN, json=event)
    assert response.status_code == 503
    assert "not accepted" in response.json()["detail"]


# ----------------------------------------------------------------------------- reads
def test_usage_reads_are_scoped_filtered_and_paginated(client, settings):
    assert client.get(f"{BASE}/usage", headers=ADMIN).json() == {
        "data": [],
        "count": 0,
        "limit": 100,
        "offset": 0,
        "as_of": None,
    }
    events = [
        cloud_event(
            f"r-{t}-{d}", t, datetime(2026, 10, d, 12), {"value": d, "user_id": "u", "region": "eu"}
        )
        for t in ("tenant-a", "tenant-b")
        for d in (1, 2, 3)
    ]
    client.post(f"{BASE}/usage", headers=ADMIN, content=orjson.dumps(events))
    run_pipeline(settings)
    a = tenant_key(client, "tenant-a")

    own = client.get(f"{BASE}/usage?meter=value_sum", headers=a).json()
    assert {r["tenant_id"] for r in own["data"]} == {"tenant-a"} and own["count"] == 3
    assert own["as_of"] is not None
    assert client.get(f"{BASE}/usage?tenant_id=tenant-b", headers=a).status_code == 403
    assert client.get(f"{BASE}/usage?tenant_id=tenant-a", headers=a).status_code == 200

    everyone = client.get(f"{BASE}/usage?meter=value_sum&granularity=period", headers=ADMIN)
    rows = everyone.json()["data"]
    assert [(r["tenant_id"], r["quantity"], r["start"], r["end"]) for r in rows] == [
        ("tenant-a", "6.000000000", "2026-10-01", "2026-11-01"),
        ("tenant-b", "6.000000000", "2026-10-01", "2026-11-01"),
    ]
    page = client.get(
        f"{BASE}/usage?meter=calls&limit=2&offset=2&start=2026-10-02", headers=ADMIN
    ).json()
    assert page["count"] == 4 and len(page["data"]) == 2
    assert all(r["start"] >= "2026-10-02" for r in page["data"])
    grouped = client.get(
        f"{BASE}/usage?granularity=period&group_by=true&meter=calls", headers=a
    ).json()
    assert [(r["group_key"], r["quantity"]) for r in grouped["data"]] == [
        ("region=eu", "3.000000000")
    ]

    for query, fragment in [
        ("granularity=week", "granularity"),
        ("limit=0", "limit"),
        ("start=2026-10-05&end=2026-10-01", "end must be after"),
        ("group_by=true", "group_by"),
        ("start=yesterday", "start"),
    ]:
        response = client.get(f"{BASE}/usage?{query}", headers=ADMIN)
        assert response.status_code == 422, query
        assert fragment in response.json()["detail"], query

    status = client.get(f"{BASE}/status", headers=a).json()
    assert status["status"] == "ok" and "fct_usage_daily" in status["tables"]


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/openapi.json").json()
    assert f"{BASE}/usage" in spec["paths"]
    assert {"get", "post"} <= set(spec["paths"][f"{BASE}/usage"])
    assert client.get("/docs").status_code == 200
