"""Soak: sustained usage through the HTTP API and Kafka together while the pipeline runs on the
landing sensor's cadence; at the end every accepted event is in the marts exactly once.

Deselected unless ``pytest --soak`` (``make soak``). ``SOAK_SECONDS`` (default 600) and
``SOAK_RATE`` (events/s over both channels, default 100) size it; ``SOAK_WAREHOUSE=postgres``
puts the warehouse on PostgreSQL; ``SOAK_RUN_INTERVAL`` (default 30 s, the landing sensor's
minimum interval) paces the runs: a ``billing run`` starts every interval, or as soon as the
previous one ends when it took longer (the sensor skips while a run is in flight).

Half the events go to ``POST /usage`` of a ``billing serve`` process (8 clients, batches of 1 to
10), half straight to the usage topic; one in 1,000 is malformed, about 0.5% are earlier events
sent again. The ledger of what was accepted is the expectation the marts must meet.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest

from adapters.kafka import EventProducer, KafkaUnavailable
from adapters.warehouse.connection import Warehouse
from billing.rules.meters import DEMO_METERS, Aggregation
from ingestion.broker import free_port
from tests.conftest import ADMIN_KEY, seed_meters

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[2]
BILLING = Path(sys.executable).with_name("billing")
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
# Pacing, not money: events per second over both channels (an integer setting).
EVENTS_PER_SECOND = int(os.environ.get("SOAK_RATE", "100"))
RUN_INTERVAL = float(os.environ.get("SOAK_RUN_INTERVAL", "30"))
WAREHOUSE = os.environ.get("SOAK_WAREHOUSE", "duckdb")  # or postgres
TENANTS = [f"soak-tenant-{i:02d}" for i in range(1, 21)]
MALFORMED_EVERY = 1000  # 0.1% of each sender's events
HTTP_CLIENTS = 8
DUPLICATE_RATE = 0.005
HEADERS = {"X-API-Key": ADMIN_KEY}
USAGE = "/api/v1/billing/usage"
LANDED_RE = re.compile(r"landed (\d+) events \((\d+) duplicates skipped")


def make_event(rng: random.Random, event_id: str) -> dict:
    """A valid event for the demo meters, timed within the last two minutes."""
    tenant = rng.choice(TENANTS)
    at = datetime.now(UTC) - timedelta(seconds=rng.random() * 120)
    kind = rng.random()
    if kind < 0.75:
        source, event_type = "api-gateway", "api.request"
        data = {
            "endpoint": rng.choice(("/v1/search", "/v1/orders", "/v1/export")),
            "user_id": f"user-{rng.randrange(40)}",
            "response_gb": f"{rng.random() * 0.01:.6f}",
        }
    elif kind < 0.95:
        source, event_type = "batch-scheduler", "compute.job"
        data = {
            "cpu_seconds": rng.randint(1, 3600),
            "concurrency": rng.randint(1, 64),
            "region": rng.choice(("eu-west-1", "us-east-1")),
        }
    else:
        source, event_type = "storage-meter", "storage.snapshot"
        data = {"gb": f"{rng.random() * 500:.3f}"}
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "subject": tenant,
        "data": data,
    }


def make_malformed(rng: random.Random, event_id: str) -> dict | bytes:
    """Invalid as a whole whatever the meters (no property-level faults): the API rejects the
    dict kinds; the landing dead-letters every kind."""
    good = make_event(rng, event_id)
    kinds = [
        {**good, "subject": None},
        {**good, "type": "mystery.event"},
        {**good, "time": "2026-13-45T99:00:00"},
        {**good, "specversion": "0.3"},
        b"{not json",
        orjson.dumps(["an", "array"]),
    ]
    return rng.choice(kinds)


@dataclass
class Ledger:
    """What was sent and what was accepted, shared by the senders (thread-safe)."""

    accepted: dict[tuple[str, str], tuple[dict, float]] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, event: dict, sent_at: float, channel: str) -> None:
        key = (event["source"], event["id"])
        with self.lock:
            self.counts[f"{channel}_accepted"] += 1
            if key in self.accepted:
                self.counts[f"{channel}_duplicates_accepted"] += 1
            else:
                self.accepted[key] = (event, sent_at)
                self.order.append(key)

    def bump(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def earlier(self, rng: random.Random) -> dict | None:
        with self.lock:
            if not self.order:
                return None
            return self.accepted[self.order[rng.randrange(len(self.order))]][0]


def next_item(rng: random.Random, ledger: Ledger, prefix: str, n: int) -> tuple[object, str]:
    """The next thing to send: ``(payload, kind)`` with kind valid, duplicate or malformed."""
    if n % MALFORMED_EVERY == MALFORMED_EVERY // 10:
        return make_malformed(rng, f"{prefix}-bad-{n}"), "malformed"
    if rng.random() < DUPLICATE_RATE:
        again = ledger.earlier(rng)
        if again is not None:
            return again, "duplicate"
    return make_event(rng, f"{prefix}-{n}"), "valid"


def http_sender(
    base: str, events_per_second: float, until: float, ledger: Ledger, seed: int
) -> None:
    rng = random.Random(seed)
    prefix = f"h{uuid.uuid4().hex[:6]}"
    started, sent, n = time.monotonic(), 0, 0
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        while time.monotonic() < until:
            size = rng.randint(1, 10)
            wait = started + (sent + size) / events_per_second - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            batch = []
            for _ in range(size):
                batch.append(next_item(rng, ledger, prefix, n))
                n += 1
            sent += size
            ledger.bump("http_sent", size)
            ledger.bump("http_requests")
            ledger.bump("http_malformed_sent", sum(k == "malformed" for _, k in batch))
            ledger.bump("http_duplicates_sent", sum(k == "duplicate" for _, k in batch))
            body = orjson.dumps([p if isinstance(p, dict) else p.decode() for p, _ in batch])
            sent_at = time.time()
            for attempt in range(5):
                try:
                    response = client.post(
                        USAGE, content=body, headers={"content-type": "application/json"}
                    )
                    ledger.latencies.append(time.time() - sent_at)  # atomic
                except httpx.HTTPError as exc:
                    ledger.bump("http_retries")
                    ledger.problem(f"POST attempt {attempt + 1} failed: {exc!r}")
                    time.sleep(1)
                    continue
                if response.status_code in (202, 422):
                    break
                ledger.bump("http_retries")
                ledger.problem(f"POST answered {response.status_code}: {response.text[:200]}")
                time.sleep(1)
            else:
                ledger.problem("a batch was given up after 5 attempts")
                continue
            answer = response.json()
            # A 422 means no event of the batch was accepted, whatever shape its body has.
            results = answer.get("results") or [{"status": "rejected", "answer": answer}] * size
            for (payload, kind), result in zip(batch, results, strict=True):
                if result["status"] == "accepted":
                    if kind == "malformed":
                        ledger.problem(f"malformed event accepted: {payload!r}")
                    else:
                        ledger.accept(payload, sent_at, "http")
                elif kind == "malformed":
                    ledger.bump("http_rejected")
                else:
                    ledger.problem(f"valid event rejected: {result}")


def kafka_sender(
    settings, events_per_second: float, until: float, ledger: Ledger, seed: int
) -> None:
    rng = random.Random(seed)
    prefix = f"k{uuid.uuid4().hex[:6]}"
    producer = EventProducer(settings)
    started, sent = time.monotonic(), 0
    try:
        while time.monotonic() < until:
            time.sleep(0.1)
            due = int((time.monotonic() - started) * events_per_second) - sent
            batch = [next_item(rng, ledger, prefix, sent + i) for i in range(max(0, due))]
            if not batch:
                continue
            sent += len(batch)
            messages = []
            for payload, kind in batch:
                value = payload if isinstance(payload, bytes) else orjson.dumps(payload)
                key = payload.get("subject") if isinstance(payload, dict) else None
                messages.append((str(key).encode(), value))
                ledger.bump(f"kafka_{kind}_sent")
            ledger.bump("kafka_sent", len(batch))
            sent_at = time.time()
            for attempt in range(5):
                try:
                    producer.send(settings.usage_topic, messages)
                    break
                except KafkaUnavailable as exc:
                    ledger.bump("kafka_retries")
                    ledger.problem(f"produce attempt {attempt + 1} failed: {exc}")
            else:
                ledger.problem("a Kafka batch was given up after 5 attempts")
                continue
            for payload, kind in batch:
                if kind != "malformed":
                    ledger.accept(payload, sent_at, "kafka")
    finally:
        producer.close()


@dataclass
class Run:
    started: float
    ended: float
    returncode: int
    output: str
    final: bool = False

    @property
    def landed(self) -> tuple[int, int]:
        match = LANDED_RE.search(self.output)
        return (int(match[1]), int(match[2])) if match else (0, 0)


def billing_run(final: bool = False) -> Run:
    started = time.time()
    done = subprocess.run(
        [str(BILLING), "run"],
        cwd=ROOT,
        env={**os.environ, "BILLING_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return Run(started, time.time(), done.returncode, done.stdout + done.stderr, final)


def pipeline_loop(until: float, runs: list[Run]) -> None:
    """`billing run` on the landing sensor's cadence until ``until`` (monotonic)."""
    while time.monotonic() < until:
        started = time.monotonic()
        runs.append(billing_run())
        time.sleep(max(0.0, min(until, started + RUN_INTERVAL) - time.monotonic()))


def expected_usage(events: list[dict]):
    """Per (tenant, meter, period): (quantity, event_count); per (tenant, meter, day): count."""
    by_type = defaultdict(list)
    for meter in DEMO_METERS:
        by_type[meter.event_type].append(meter)
    values: dict[tuple, list[tuple[datetime, object]]] = defaultdict(list)
    daily: dict[tuple, int] = defaultdict(int)
    for event in events:
        at = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        period = date(at.year, at.month, 1)
        for meter in by_type[event["type"]]:
            value = None if meter.value_property is None else event["data"][meter.value_property]
            values[(event["subject"], meter.key, period)].append((at, value))
            daily[(event["subject"], meter.key, at.date())] += 1
    aggregations = {m.key: m.aggregation for m in DEMO_METERS}
    period_usage = {}
    for (tenant, meter, period), rows in values.items():
        aggregation = aggregations[meter]
        numeric = aggregation in (Aggregation.SUM, Aggregation.MAX)
        numbers = [Decimal(str(v)) for _, v in rows] if numeric else []
        if aggregation == Aggregation.COUNT:
            quantity = Decimal(len(rows))
        elif aggregation == Aggregation.SUM:
            quantity = sum(numbers, Decimal(0))
        elif aggregation == Aggregation.MAX:
            quantity = max(numbers)
        elif aggregation == Aggregation.UNIQUE_COUNT:
            quantity = Decimal(len({v for _, v in rows}))
        else:  # latest: the value of the last event by event time
            quantity = Decimal(str(max(rows, key=lambda r: r[0])[1]))
        period_usage[(tenant, meter, period)] = (quantity, len(rows))
    return period_usage, daily


def read_all(client: httpx.Client, params: dict) -> list[dict]:
    rows, offset = [], 0
    while True:
        page = client.get(USAGE, params={**params, "limit": 1000, "offset": offset})
        assert page.status_code == 200, page.text
        body = page.json()
        rows += body["data"]
        offset += len(body["data"])
        if offset >= body["count"] or not body["data"]:
            return rows


def mismatches(expected: dict, actual: dict, label: str) -> list[str]:
    found = []
    for key in sorted(set(expected) | set(actual), key=str):
        if expected.get(key) != actual.get(key):
            found.append(f"{label} {key}: expected {expected.get(key)}, marts {actual.get(key)}")
    return found


def spread(values: list[float], scale: float = 1.0) -> dict[str, float]:
    """Median, 99th percentile (nearest rank) and maximum, times ``scale``, rounded."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        k: round(v * scale, 1)
        for k, v in (("median", statistics.median(ordered)), ("p99", p99), ("max", ordered[-1]))
    }


def lags(settings, ledger: Ledger, runs: list[Run]) -> list[float]:
    """Seconds from an event's first accepted send to the end of the run that landed it (its
    build published the snapshot the API reads)."""
    ends = sorted(r.ended for r in runs)
    with Warehouse(settings).connection(read_only=True) as con:
        landed = con.fetchall("select source, event_id, landed_at from raw.usage_events")
    out = []
    for source, event_id, landed_at in landed:
        if (source, event_id) not in ledger.accepted:
            continue  # landed but never accepted: the landing count check reports it
        _, sent_at = ledger.accepted[(source, event_id)]
        at = landed_at.replace(tzinfo=UTC).timestamp()
        out.append(ends[bisect.bisect_left(ends, at)] - sent_at)
    return out


@pytest.mark.timeout(int(SECONDS) + 1800)
def test_soak_nothing_lost_nothing_counted_twice(make_settings, request):
    assert WAREHOUSE in ("duckdb", "postgres"), f"SOAK_WAREHOUSE={WAREHOUSE}"
    pg = (
        {"warehouse_url": request.getfixturevalue("pg_database")} if WAREHOUSE == "postgres" else {}
    )
    settings = make_settings(**pg)
    seed_meters(settings, DEMO_METERS)
    port = free_port()
    log_path = settings.data_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(BILLING), "serve", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "BILLING_LOG_LEVEL": "WARNING"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    ledger, runs = Ledger(), []
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "billing serve did not start"
            time.sleep(0.2)

        t0 = time.monotonic()
        until = t0 + SECONDS
        senders = [
            threading.Thread(
                target=http_sender,
                args=(base, EVENTS_PER_SECOND / 2 / HTTP_CLIENTS, until, ledger, i),
            )
            for i in range(HTTP_CLIENTS)
        ]
        senders.append(
            threading.Thread(
                target=kafka_sender, args=(settings, EVENTS_PER_SECOND / 2, until, ledger, 99)
            )
        )
        pipeline = threading.Thread(target=pipeline_loop, args=(until, runs))
        for thread in [*senders, pipeline]:
            thread.start()
        for thread in senders:
            thread.join()
        sending = time.monotonic() - t0
        pipeline.join()  # the run in flight finishes
        runs.append(billing_run(final=True))

        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
            period_rows = read_all(client, {"granularity": "period"})
            day_rows = read_all(client, {"granularity": "day"})
            dead = client.get(f"{USAGE}/dead-letters", params={"limit": 1000})
            assert dead.status_code == 200, dead.text
            dead_letters = dead.json()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    failed = [r for r in runs if r.returncode != 0]
    assert not failed, failed[0].output[-3000:]
    accepted = [event for event, _ in ledger.accepted.values()]
    expected_period, expected_daily = expected_usage(accepted)
    actual_period = {
        (r["tenant_id"], r["meter"], date.fromisoformat(r["start"])): (
            Decimal(str(r["quantity"])),
            r["event_count"],
        )
        for r in period_rows
    }
    actual_daily = {
        (r["tenant_id"], r["meter"], date.fromisoformat(r["start"])): r["event_count"]
        for r in day_rows
    }
    found = mismatches(expected_period, actual_period, "period")
    found += mismatches(expected_daily, actual_daily, "day")

    c = ledger.counts
    kafka_malformed = c["kafka_malformed_sent"]
    if dead_letters["count"] != kafka_malformed:
        found.append(
            f"dead letters: {dead_letters['count']}, malformed sent to Kafka: {kafka_malformed}"
        )
    if c["http_rejected"] != c["http_malformed_sent"]:
        found.append(f"API rejected {c['http_rejected']} of {c['http_malformed_sent']} malformed")
    landed = sum(r.landed[0] for r in runs)
    skipped = sum(r.landed[1] for r in runs)
    copies = c["http_accepted"] + c["kafka_accepted"]
    if landed != len(accepted):
        found.append(f"landed {landed} events, {len(accepted)} distinct accepted")
    if skipped != copies - len(accepted):
        found.append(f"{skipped} duplicates skipped, {copies - len(accepted)} copies re-sent")
    event_lags = lags(settings, ledger, runs)

    durations = [r.ended - r.started for r in runs]
    figures = {
        "seconds": SECONDS,
        "rate_target": EVENTS_PER_SECOND,
        "run_interval": RUN_INTERVAL,
        "warehouse": WAREHOUSE,
        "sent_http": c["http_sent"],
        "sent_kafka": c["kafka_sent"],
        "http_requests": c["http_requests"],
        "http_post_ms": spread(ledger.latencies, 1000),
        "achieved_rate": round((c["http_sent"] + c["kafka_sent"]) / sending, 1),
        "accepted_copies": copies,
        "accepted_distinct": len(accepted),
        "duplicates_resent": c["http_duplicates_sent"] + c["kafka_duplicate_sent"],
        "duplicate_copies_skipped": skipped,
        "malformed_http_rejected": c["http_rejected"],
        "malformed_kafka_sent": kafka_malformed,
        "dead_letters": dead_letters["count"],
        "retries": c["http_retries"] + c["kafka_retries"],
        "pipeline_runs": len(runs),
        "run_seconds": {**spread(durations), "final": round(durations[-1], 1)},
        "lag_seconds": spread(event_lags),
        "mart_rows": {"period": len(period_rows), "day": len(day_rows)},
        "mismatches": len(found),
        "problems": ledger.problems[:20],
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\nsoak figures:\n" + json.dumps(figures, indent=2))
    print("run durations (s): " + ", ".join(f"{d:.1f}" for d in durations))

    assert not found, "\n".join(found[:30])
    assert not [p for p in ledger.problems if "rejected" in p or "given up" in p], ledger.problems
    assert len(runs) >= 2 and c["http_sent"] > 0 and c["kafka_sent"] > 0
