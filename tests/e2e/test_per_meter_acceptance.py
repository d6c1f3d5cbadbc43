"""Per-meter acceptance (issue 15): an `api.request` event without `response_gb` counts for
`api_calls` and not for `egress_gb`, as Lago and OpenMeter decide, and says why, everywhere:
the ingest answer, landing (raw.usage_not_counted), the usage marts, the real-time counters and
the not-counted listing. Only an event no meter of its type can count is a dead letter."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.warehouse.connection import Warehouse
from adapters.warehouse.serving import ServingReader
from api.main import create_app
from billing.control_plane.db import session_scope
from billing.control_plane.models import RealtimeUsage
from billing.rules.events import utc_now
from billing.rules.meters import Aggregation, Meter
from ingestion.landing import UsageLander
from ingestion.realtime_consumer import RealtimeConsumer
from tests.conftest import ADMIN_KEY, cloud_event, produce, run_pipeline, seed_meters

ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
METERS = (
    Meter("api_calls", "api.request", Aggregation.COUNT, None, "call"),
    Meter("egress_gb", "api.request", Aggregation.SUM, "response_gb", "GB"),
    Meter("gpu_seconds", "gpu.job", Aggregation.SUM, "seconds", "s"),
)
MISSING = "data.response_gb is missing (required by meter 'egress_gb')"
WHEN = datetime(2026, 10, 5, 12)


def request_event(event_id: str, data: dict, tenant: str = "tenant-a", when=WHEN) -> dict:
    return cloud_event(event_id, tenant, when, data, event_type="api.request")


def gpu_event(event_id: str, data: dict, tenant: str = "tenant-a", when=WHEN) -> dict:
    return cloud_event(event_id, tenant, when, data, event_type="gpu.job")


@pytest.fixture(params=["duckdb", "postgres"])
def landing_settings(request, make_settings):
    if request.param == "duckdb":
        return make_settings()
    return make_settings(warehouse_url=request.getfixturevalue("pg_database"))


def not_counted_rows(settings) -> list[tuple]:
    with Warehouse(settings).connection() as con:
        return con.fetchall(
            "select event_id, meter_key, reason_code, reason, tenant_id, event_type "
            "from raw.usage_not_counted order by event_id, meter_key"
        )


def test_landing_records_what_was_not_counted_once(landing_settings):
    land = UsageLander(landing_settings, meters=list(METERS)).run
    produce(
        landing_settings,
        [
            request_event("r-1", {"response_gb": "0.25"}),
            request_event("r-2", {"endpoint": "/v1/search"}),  # no response_gb
            request_event("r-3", {"response_gb": "lots"}),  # not a number
            request_event("r-2", {"response_gb": "9"}),  # re-sent, now with it: first wins
            request_event("r-4", {"response_gb": "1"}),
            request_event("r-4", {}),  # re-sent without it: r-4 stays counted
            gpu_event("g-1", {"seconds": 3}),
            gpu_event("g-2", {}),  # no meter of gpu.job can count it: dead letter
        ],
    )
    result = land()
    assert (result.total("landed"), result.total("duplicates")) == (5, 2)
    assert (result.total("dead_lettered"), result.total("not_counted")) == (1, 2)
    assert result.summary()["not_counted"] == 2
    rows = not_counted_rows(landing_settings)
    assert rows == [
        ("r-2", "egress_gb", "missing_property", MISSING, "tenant-a", "api.request"),
        (
            "r-3",
            "egress_gb",
            "bad_quantity",
            "data.response_gb 'lots' is not a plain decimal number (meter 'egress_gb')",
            "tenant-a",
            "api.request",
        ),
    ]
    with Warehouse(landing_settings).connection() as con:
        dead = con.fetchall("select reason_code, reason from raw.usage_events_dead_letter")
    assert dead == [("bad_quantity", "data.seconds is missing (required by meter 'gpu_seconds')")]
    # Re-delivered in a later run, with or without the property: nothing new anywhere.
    produce(
        landing_settings,
        [request_event("r-2", {}), request_event("r-1", {}), request_event("r-3", {})],
    )
    again = land()
    assert (again.total("landed"), again.total("duplicates"), again.total("not_counted")) == (
        0,
        3,
        0,
    )
    assert not_counted_rows(landing_settings) == rows


def test_realtime_counts_an_event_for_the_meters_it_satisfies(make_settings):
    settings = make_settings()
    seed_meters(settings, METERS)
    now = utc_now()
    consumer = RealtimeConsumer(settings, clock=lambda: now)
    when = now - timedelta(minutes=5)
    batch = [
        request_event("r-1", {"response_gb": "0.25"}, when=when),
        request_event("r-2", {}, when=when),
        request_event("r-3", {"response_gb": -1}, when=when),
        request_event("r-4", {"response_gb": "1.5"}, when=when),
    ]
    outcome = consumer.process([orjson.dumps(e) for e in batch], {}, {})
    assert (outcome.counted, outcome.rejected) == (4, 0)
    # Re-delivered: counted once.
    again = consumer.process([orjson.dumps(batch[1]), orjson.dumps(batch[0])], {}, {})
    assert (again.counted, again.duplicates) == (0, 2)
    with session_scope(settings) as session:
        totals = {r.meter_key: r.quantity for r in session.scalars(select(RealtimeUsage)).all()}
    assert totals == {"api_calls": 4, "egress_gb": Decimal("1.75")}


def test_api_request_without_response_gb_end_to_end(make_settings):
    """API answer -> Kafka -> landing -> dbt marts -> usage and not-counted listings."""
    settings = make_settings()
    seed_meters(settings, METERS)
    when = (utc_now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with TestClient(create_app(settings)) as client:
        keys = {}
        for tenant in ("tenant-a", "tenant-b"):
            made = client.post(
                f"{BASE}/api-keys", json={"tenant_id": tenant, "name": "t"}, headers=ADMIN
            )
            assert made.status_code == 201, made.text
            keys[tenant] = {"Authorization": f"Bearer {made.json()['key']}"}
        sent = [
            request_event("r-1", {"endpoint": "/v1/search", "response_gb": "0.002"}, when=when),
            request_event("r-2", {"endpoint": "/v1/search"}, when=when),
            gpu_event("g-1", {}, when=when),
        ]
        answer = client.post(f"{BASE}/usage", headers=keys["tenant-a"], content=orjson.dumps(sent))
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert (body["accepted"], body["rejected"], body["not_counted"]) == (2, 1, 1)
        full, partial, rejected = body["results"]
        assert full["status"] == "accepted" and full["reason"] is None
        assert full["meters"] == {
            "api_calls": {"counted": True, "code": None, "reason": None},
            "egress_gb": {"counted": True, "code": None, "reason": None},
        }
        assert partial["status"] == "accepted" and partial["code"] is None
        assert partial["reason"] == f"accepted for api_calls; not counted for egress_gb: {MISSING}"
        assert partial["meters"] == {
            "api_calls": {"counted": True, "code": None, "reason": None},
            "egress_gb": {"counted": False, "code": "missing_property", "reason": MISSING},
        }
        assert rejected["status"] == "rejected" and rejected["code"] == "bad_quantity"
        assert rejected["meters"] is None

        # Before any pipeline run there is nothing to list, and that is not an error.
        empty = client.get(f"{BASE}/usage/not-counted", headers=ADMIN)
        assert empty.status_code == 200 and empty.json()["count"] == 0

        run_pipeline(settings)
        period, _ = ServingReader(settings).query(
            "select meter_key, quantity, event_count from {fct_usage_period} "
            "where tenant_id = 'tenant-a' order by meter_key"
        )
        assert [(r["meter_key"], r["quantity"], r["event_count"]) for r in period] == [
            ("api_calls", 2, 2),
            ("egress_gb", Decimal("0.002"), 1),
        ]
        usage = client.get(
            f"{BASE}/usage",
            params={"granularity": "period", "meter": "egress_gb"},
            headers=keys["tenant-a"],
        ).json()
        assert [(Decimal(u["quantity"]), u["event_count"]) for u in usage["data"]] == [
            (Decimal("0.002"), 1)
        ]

        listed = client.get(f"{BASE}/usage/not-counted", headers=keys["tenant-a"])
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["count"] == 1 and page["as_of"] is not None
        (record,) = page["data"]
        assert {k: record[k] for k in ("event_id", "tenant_id", "meter", "reason_code")} == {
            "event_id": "r-2",
            "tenant_id": "tenant-a",
            "meter": "egress_gb",
            "reason_code": "missing_property",
        }
        assert record["reason"] == MISSING and record["source"] == "tests"
        # Filters; the admin sees every tenant's, another tenant sees none of them.
        admin = client.get(
            f"{BASE}/usage/not-counted", params={"meter": "api_calls"}, headers=ADMIN
        )
        assert admin.json()["count"] == 0
        assert client.get(f"{BASE}/usage/not-counted", headers=ADMIN).json()["count"] == 1
        other = client.get(f"{BASE}/usage/not-counted", headers=keys["tenant-b"])
        assert other.status_code == 200 and other.json()["count"] == 0
        peek = client.get(
            f"{BASE}/usage/not-counted", params={"tenant_id": "tenant-a"}, headers=keys["tenant-b"]
        )
        assert peek.status_code in (403, 404)
        # The event no meter could count was refused by the API: it never reached Kafka.
        assert client.get(f"{BASE}/usage/dead-letters", headers=ADMIN).json()["count"] == 0
