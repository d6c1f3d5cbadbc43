"""The real-time consumer against the real broker: killed and restarted mid-stream (nothing lost,
nothing counted twice), and alert notifications delivered once to a receiver that is down and
then up, with the CloudEvent on the billing-events topic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import select

from billing.control_plane.db import session_scope
from billing.control_plane.models import NotificationDelivery, RealtimeOffset, RealtimeUsage
from billing.rules.alerts import SIGNATURE_HEADER, verify
from billing.rules.events import utc_now
from billing.services.alerts import AlertRules, evaluate_usage
from ingestion.broker import free_port
from ingestion.realtime_delivery import DeliveryWorker
from tests.conftest import add_hard_quota, cloud_event, produce, seed_meters

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _events(start: int, n: int, now: datetime) -> list[dict]:
    """n calls from 3 tenants, a second before now each, values 1..5."""
    return [
        cloud_event(
            f"rt-{i}",
            f"t{i % 3}",
            now - timedelta(seconds=1 + i % 50),
            {"value": i % 5 + 1, "user_id": f"u{i % 7}", "region": "eu"},
        )
        for i in range(start, start + n)
    ]


def _expected(events: list[dict]) -> dict[tuple[str, str, date], Decimal]:
    out: Counter = Counter()
    for e in {(e["source"], e["id"]): e for e in events}.values():
        t = datetime.fromisoformat(e["time"].replace("Z", ""))
        period = date(t.year, t.month, 1)
        out[(e["subject"], "calls", period)] += 1
        out[(e["subject"], "value_sum", period)] += e["data"]["value"]
    return {k: Decimal(v) for k, v in out.items()}


def _totals(settings) -> dict[tuple[str, str, date], Decimal]:
    with session_scope(settings) as session:
        rows = session.scalars(
            select(RealtimeUsage).where(RealtimeUsage.meter_key.in_(["calls", "value_sum"]))
        ).all()
        return {(r.tenant_id, r.meter_key, r.period_start): r.quantity for r in rows}


def _wait_for(settings, expected, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    totals = {}
    while time.monotonic() < deadline:
        totals = _totals(settings)
        if totals == expected:
            return totals
        time.sleep(0.2)
    return totals


def _billing(settings, *args) -> subprocess.Popen:
    log = open(settings.data_path / "realtime.log", "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


CRASH_SCRIPT = """
import os, threading
from ingestion.realtime_consumer import RealtimeConsumer
from billing.settings import Settings

def crash(result):
    if consumer.batches == 2:  # the third batch: written, not committed
        os._exit(3)

consumer = RealtimeConsumer(Settings(), before_commit=crash)
consumer.run(threading.Event())
"""


@pytest.mark.parametrize("control_plane", ["sqlite", "postgres"])
def test_consumer_killed_and_restarted_mid_stream_loses_nothing(
    request, make_settings, control_plane
):
    extra = {}
    if control_plane == "postgres":
        extra["control_db_url"] = request.getfixturevalue("pg_database")
    settings = make_settings(realtime_batch_size=40, realtime_max_wait_seconds=1.0, **extra)
    seed_meters(settings)
    now = utc_now()
    first = _events(0, 200, now)
    produce(settings, first + first[:30])  # duplicates too
    # 1. A crash injected between writing a batch and committing it.
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT], cwd=ROOT, env=os.environ.copy(), timeout=120
    )
    assert crashed.returncode == 3
    with session_scope(settings) as session:  # two batches of 40 committed, with their offsets
        assert sum(r.next_offset for r in session.scalars(select(RealtimeOffset))) == 80
    partial = _totals(settings)
    assert 0 < sum(v for (_, m, _), v in partial.items() if m == "calls") <= 80
    # 2. The real command, killed with SIGKILL while events keep arriving, then restarted.
    proc = _billing(settings, "realtime")
    try:
        second = _events(200, 400, now)
        for chunk in range(0, 400, 50):
            produce(settings, second[chunk : chunk + 50])
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        third = _events(600, 100, now)
        produce(settings, third + second[:20])
        proc = _billing(settings, "realtime")
        expected = _expected(first + second + third)
        assert _wait_for(settings, expected) == expected
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            assert proc.wait(20) == 0, (settings.data_path / "realtime.log").read_text()[-3000:]


# ----------------------------------------------------------------------------- notifications
class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class _Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _billing_events(settings) -> list[dict]:
    consumer = Consumer(
        settings.kafka_client_config(**{"group.id": "test-reader", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(settings.billing_events_topic, 0, 0)])
    out, idle = [], time.monotonic()
    while time.monotonic() - idle < 3:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        out.append(orjson.loads(msg.value()))
        idle = time.monotonic()
    consumer.close()
    return out


def test_notification_retried_until_the_receiver_is_up_and_delivered_once(make_settings):
    port = free_port()
    settings = make_settings(
        notify_url=f"http://127.0.0.1:{port}/hooks/billing",
        notify_secret="whsec-test",
        notify_backoff_seconds=1,
        notify_timeout_seconds=1,
    )
    seed_meters(settings)
    from billing.control_plane.db import migrate

    migrate(settings)
    clock = _Clock(datetime(2026, 11, 10))
    add_hard_quota(settings, "t1", "calls", Decimal(10), ["80", "100"])
    with session_scope(settings) as session:
        rules = AlertRules.load(session)
        fired = evaluate_usage(
            session, rules, "t1", "calls", date(2026, 11, 1), Decimal(12), "realtime", clock()
        )
        assert len(fired) == 2
    worker = DeliveryWorker(settings, clock=clock)
    # The receiver is down: two attempts fail, each followed by a longer wait.
    assert worker.run_once() == {"delivered": 0, "retrying": 2, "failed": 0}
    assert worker.run_once() == {"delivered": 0, "retrying": 0, "failed": 0}  # not due yet
    clock.now += timedelta(seconds=1)
    assert worker.run_once()["retrying"] == 2
    with session_scope(settings) as session:
        rows = session.scalars(select(NotificationDelivery)).all()
        assert [(r.attempts, r.next_attempt_at) for r in rows] == [
            (2, clock.now + timedelta(seconds=2))
        ] * 2
        assert all("onnect" in (r.last_error or "") for r in rows)
    # Up again.
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock.now += timedelta(seconds=2)
        assert worker.run_once() == {"delivered": 2, "retrying": 0, "failed": 0}
        clock.now += timedelta(hours=1)
        assert worker.run_once() == {"delivered": 0, "retrying": 0, "failed": 0}
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Receiver.received) == 2
    thresholds = set()
    for headers, body in _Receiver.received:
        assert verify(body, headers[SIGNATURE_HEADER], "whsec-test")
        event = orjson.loads(body)
        assert event["type"] == "billing.alert.quota" and event["subject"] == "t1"
        thresholds.add(event["data"]["threshold"])
    assert thresholds == {"80", "100"}
    with session_scope(settings) as session:
        rows = session.scalars(select(NotificationDelivery)).all()
        assert [(r.status, r.attempts, r.last_status_code) for r in rows] == [
            ("delivered", 3, 204)
        ] * 2
    # Published to Kafka once each (on the first attempt), with the same event ids.
    events = _billing_events(settings)
    assert sorted(e["id"] for e in events) == sorted(
        orjson.loads(b)["id"] for _, b in _Receiver.received
    )
    if worker._producer is not None:
        worker._producer.close()


@pytest.mark.parametrize("attempts", [2])
def test_notification_gives_up_after_max_attempts(make_settings, attempts):
    settings = make_settings(
        notify_url=f"http://127.0.0.1:{free_port()}/down",
        notify_max_attempts=attempts,
        notify_backoff_seconds=1,
    )
    seed_meters(settings)
    clock = _Clock(datetime(2026, 11, 10))
    with session_scope(settings) as session:
        from billing.services.alerts import fire

        fire(
            session,
            kind="milestone",
            tenant_id="t1",
            meter_key="calls",
            period_start=date(2026, 11, 1),
            threshold=Decimal(1000),
            value=Decimal(1000),
            source="realtime",
            now=clock(),
        )
    worker = DeliveryWorker(settings, clock=clock)
    assert worker.run_once()["retrying"] == 1
    clock.now += timedelta(seconds=5)
    assert worker.run_once()["failed"] == 1
    clock.now += timedelta(hours=1)
    assert worker.run_once() == {"delivered": 0, "retrying": 0, "failed": 0}
