"""The real-time benchmark's load generator (``benchmarks.realtime``): its raw
keep-alive HTTP connections read real answers from a real uvicorn server, count every request
and refuse a failed answer, so the figures it prints measure what they say."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from api.main import create_app
from benchmarks.realtime import _Connection, _load, _paced_load
from billing.control_plane.db import ensure_meters
from billing.rules.meters import DEMO_METERS
from tests.conftest import add_hard_quota, serving

ADMIN = {"X-API-Key": "bench-test-admin-key-0123456789ab"}
CHECK = "/api/v1/billing/quotas/t001/check?meter=api_calls&quantity=5"


@pytest.fixture
def api(make_settings) -> Iterator[str]:
    settings = make_settings(admin_api_key=ADMIN["X-API-Key"])
    app = create_app(settings)
    ensure_meters(settings, DEMO_METERS)
    add_hard_quota(settings, "t001", "api_calls", 3, ["100"])
    with serving(app) as base:
        yield base


def test_connection_reads_status_and_body_on_one_keep_alive_connection(api):
    async def run():
        connection = await _Connection.open(api)
        answers = [await connection.get(CHECK, ADMIN) for _ in range(3)]
        refused = await connection.get(CHECK, {"X-API-Key": "wrong"})
        connection.close()
        return answers, refused

    answers, refused = asyncio.run(run())
    for status, body in answers:
        assert status == 200
        assert b'"allowed":false' in body  # 5 more than a hard limit of 3
    assert refused[0] == 401
    assert b"invalid or revoked API key" in refused[1]


def test_open_loop_sends_every_scheduled_request(api):
    latencies = asyncio.run(_paced_load(api, CHECK, ADMIN, clients=4, seconds=1, per_client=10))
    assert len(latencies) == 4 * 10
    assert all(0 < latency < 5 for latency in latencies)


def test_closed_loop_counts_requests_and_refuses_failed_answers(api):
    latencies = asyncio.run(_load(api, "/healthz", {}, clients=3, seconds=0.3))
    assert len(latencies) >= 3
    with pytest.raises(AssertionError):
        asyncio.run(_load(api, CHECK, {"X-API-Key": "wrong"}, clients=2, seconds=0.2))
