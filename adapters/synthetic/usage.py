"""Synthetic usage for the demo and the benchmark: CloudEvents for the demo meters.

Tenants differ in size (a few large, many small), traffic follows the working day, and the
stream carries what real streams carry: re-sent duplicates and a few malformed messages.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

ENDPOINTS = ("/v1/search", "/v1/orders", "/v1/users", "/v1/reports", "/v1/export")
REGIONS = ("eu-west-1", "us-east-1", "ap-south-1")


@dataclass(frozen=True)
class SyntheticPlan:
    start: datetime  # naive UTC
    end: datetime  # naive UTC, exclusive
    tenants: int = 40
    events: int = 200_000
    duplicate_rate: float = 0.005
    malformed: int = 24
    seed: int = 7


def tenant_ids(n: int) -> list[str]:
    return [f"tenant-{i:03d}" for i in range(1, n + 1)]


def _weights(n: int, rng: random.Random) -> list[float]:
    # Pareto-like sizes: a handful of tenants produce most of the traffic.
    return [rng.paretovariate(1.3) for _ in range(n)]


def _time(rng: random.Random, start: datetime, span_seconds: float) -> datetime:
    # More traffic in working hours: resample half of the night-time draws.
    while True:
        t = start + timedelta(seconds=rng.random() * span_seconds)
        if 7 <= t.hour <= 20 or rng.random() < 0.5:
            return t


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(plan: SyntheticPlan) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, value)`` Kafka messages: valid events, duplicates, then malformed ones."""
    rng = random.Random(plan.seed)
    tenants = tenant_ids(plan.tenants)
    weights = _weights(plan.tenants, rng)
    span = (plan.end - plan.start).total_seconds()
    users = {t: max(3, int(w * 20)) for t, w in zip(tenants, weights, strict=True)}
    recent: list[tuple[bytes, bytes]] = []
    days = max(1, int(span // 86400))
    storage_events = plan.tenants * days
    usage_events = max(0, plan.events - storage_events)
    for i in range(usage_events):
        tenant = rng.choices(tenants, weights)[0]
        t = _time(rng, plan.start, span)
        if rng.random() < 0.8:
            event = {
                "type": "api.request",
                "source": "api-gateway",
                "data": {
                    "endpoint": rng.choice(ENDPOINTS),
                    "method": rng.choice(("GET", "GET", "GET", "POST")),
                    "status": rng.choice((200, 200, 200, 201, 404, 500)),
                    "user_id": f"user-{rng.randrange(users[tenant])}",
                    "response_gb": f"{rng.random() * 0.01:.6f}",
                },
            }
        else:
            event = {
                "type": "compute.job",
                "source": "batch-scheduler",
                "data": {
                    "job_id": f"job-{i}",
                    "cpu_seconds": rng.randint(1, 3600),
                    "concurrency": rng.randint(1, 16),
                    "region": rng.choice(REGIONS),
                },
            }
        event.update(specversion="1.0", id=f"evt-{plan.seed}-{i:09d}", time=_iso(t), subject=tenant)
        message = (tenant.encode(), orjson.dumps(event))
        yield message
        if rng.random() < plan.duplicate_rate:
            recent.append(message)
        if len(recent) > 50:
            yield recent.pop(rng.randrange(len(recent)))  # a re-sent duplicate, later on
    # Daily storage gauges (`latest` meter): one reading per tenant per day.
    day = plan.start
    n = 0
    while day < plan.end:
        for tenant, weight in zip(tenants, weights, strict=True):
            reading = day + timedelta(hours=23, minutes=55)
            if reading >= plan.end:
                reading = plan.end - timedelta(seconds=1)
            gb = weight * 50 * (1 + (day - plan.start).days / 60)
            event = {
                "specversion": "1.0",
                "id": f"storage-{plan.seed}-{n:09d}",
                "type": "storage.snapshot",
                "source": "storage-meter",
                "time": _iso(reading),
                "subject": tenant,
                "data": {"gb": f"{gb:.3f}"},
            }
            n += 1
            yield tenant.encode(), orjson.dumps(event)
        day += timedelta(days=1)
    yield from recent
    yield from malformed(plan.malformed, plan.start, rng)


def malformed(count: int, when: datetime, rng: random.Random) -> Iterator[tuple[bytes, bytes]]:
    """Every kind of bad message: dead-lettered, except a bad `response_gb` (the event counts
    for `api_calls` and is recorded as not counted for `egress_gb`)."""
    good = {
        "specversion": "1.0",
        "source": "api-gateway",
        "type": "api.request",
        "time": _iso(when + timedelta(hours=1)),
        "subject": "tenant-001",
        "data": {"endpoint": "/v1/search", "user_id": "user-1", "response_gb": "0.001"},
    }
    kinds = [
        lambda i: b"{not json",
        lambda i: orjson.dumps(["an", "array"]),
        lambda i: orjson.dumps({**good, "id": f"bad-{i}", "subject": None}),
        lambda i: orjson.dumps({**good, "id": f"bad-{i}", "type": "mystery.event"}),
        lambda i: orjson.dumps(
            {**good, "id": f"bad-{i}", "data": {**good["data"], "response_gb": "lots"}}
        ),
        lambda i: orjson.dumps({**good, "id": f"bad-{i}", "time": "2026-13-45T99:00:00"}),
        lambda i: orjson.dumps({**good, "id": f"bad-{i}", "specversion": "0.3"}),
        lambda i: orjson.dumps(
            {**good, "id": f"bad-{i}", "data": {**good["data"], "response_gb": -1}}
        ),
    ]
    for i in range(count):
        yield b"tenant-001", kinds[i % len(kinds)](i)
