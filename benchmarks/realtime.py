"""``billing bench-realtime``: the quota check's latency and the real-time figures' freshness,
against baselines measured in the same run.

1. A fresh embedded broker and data directory; the demo meters; a quota per tenant.
2. ``billing serve`` (a real uvicorn server) and ``billing realtime`` as subprocesses.
3. Latency: ``clients`` concurrent keep-alive HTTP connections, first to ``/healthz`` (baseline:
   the server's floor for any request), then to the quota check; in a closed loop (requests back
   to back: saturation) and in an open loop (each client ``per_client`` requests/s on a fixed
   schedule). p50/p99 of each, and the check's p99 as a ratio of the baseline's.
4. Freshness under a steady load: background events at ``rate`` events/s for ``seconds``, and
   every 100 ms a probe event for a probe tenant; for each probe, the time from Kafka's
   acknowledgement until the quota check (even probes) or the real-time cost endpoint (odd ones)
   shows it. Baseline: the time until a plain Kafka consumer in this process receives the same
   probe.

Figures are printed and written to ``bench-results/realtime.json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from adapters.kafka import ensure_topics
from billing.settings import Settings
from ingestion.broker import EmbeddedBroker, free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(values, 50) * 1000, 2),
        "p99_ms": round(_pct(values, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "requests": len(values),
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection sending GETs with fixed headers. The load generator's
    own cost per request is a few microseconds (an httpx client's is about half a millisecond,
    which on two shared cores showed up in the figures as the server's)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> _Connection:
        url = urlsplit(base)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer, url.netloc)

    async def get(self, path: str, headers: dict) -> tuple[int, bytes]:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return int(head[9:12]), body

    def close(self) -> None:
        self.writer.close()


async def _connections(base: str, path: str, headers: dict, clients: int) -> list[_Connection]:
    connections = [await _Connection.open(base) for _ in range(clients)]
    for connection in connections:  # warm: the first request on each connection
        status, body = await connection.get(path, headers)
        assert status == 200, body
    return connections


async def _load(base: str, path: str, headers: dict, clients: int, seconds: float) -> list[float]:
    """``clients`` concurrent clients sending requests back to back for ``seconds``."""
    latencies: list[float] = []
    connections = await _connections(base, path, headers, clients)
    stop = time.perf_counter() + seconds

    async def worker(connection: _Connection):
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            status, body = await connection.get(path, headers)
            latencies.append(time.perf_counter() - t0)
            assert status == 200, body

    await asyncio.gather(*(worker(c) for c in connections))
    for connection in connections:
        connection.close()
    return latencies


async def _paced_load(
    base: str, path: str, headers: dict, clients: int, seconds: float, per_client: float
) -> list[float]:
    """An open loop: ``clients`` concurrent clients, each sending a request every
    ``1 / per_client`` seconds on a fixed schedule (staggered), whatever the answers' speed.

    A request's latency runs from its scheduled time when its connection was still busy with the
    previous answer then (the server's slowness delayed it, so the wait counts: no coordinated
    omission), otherwise from when it was sent (the generator's own timer lateness, up to a
    millisecond with asyncio's timers, is not the server's)."""
    latencies: list[float] = []
    connections = await _connections(base, path, headers, clients)
    interval = 1 / per_client
    start = time.perf_counter() + 0.1
    count = int(seconds * per_client)

    async def worker(n: int, connection: _Connection):
        answered = 0.0
        for i in range(count):
            due = start + (i + n / clients) * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            status, body = await connection.get(path, headers)
            began = due if answered > due else sent
            answered = time.perf_counter()
            latencies.append(answered - began)
            assert status == 200, body

    await asyncio.gather(*(worker(n, c) for n, c in enumerate(connections)))
    for connection in connections:
        connection.close()
    return latencies


def _event(event_id: str, tenant: str) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "bench",
            "type": "api.request",
            "time": now,
            "subject": tenant,
            "data": {"endpoint": "/v1/x", "user_id": "u1", "response_gb": 0.001, "ms": 5},
        }
    )


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run_realtime_benchmark(
    clients: int = 50,
    seconds: float = 10,
    rate: int = 500,
    tenants: int = 50,
    per_client: float = 4,
) -> int:
    from billing.control_plane.db import ensure_meters, migrate, session_scope
    from billing.control_plane.models import ResourceQuota
    from billing.rules.meters import DEMO_METERS

    # SIGTERM (e.g. a timeout) still runs the cleanup below: children and broker stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="billing-bench-rt-"))
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    figures: dict[str, object] = {
        "clients": clients,
        "seconds": seconds,
        "rate_events_per_s": rate,
        "machine": f"{os.cpu_count()} CPUs",
    }
    port = free_port()
    children: list[subprocess.Popen] = []
    with EmbeddedBroker.start(log_file=work / "broker.log") as broker:
        settings = Settings(
            _env_file=None,
            data_dir=work,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            admin_api_key=ADMIN_KEY,
            api_port=port,
        )
        ensure_topics(settings)
        migrate(settings)
        ensure_meters(settings, DEMO_METERS)
        with session_scope(settings) as session:
            for i in range(tenants + 1):
                session.add(
                    ResourceQuota(
                        tenant_id=f"t{i:03d}" if i < tenants else "probe",
                        meter_key="api_calls",
                        period="month",
                        limit=10**9,
                        enforcement="hard",
                        alert_thresholds=["80", "100"],
                    )
                )
        env = {
            **os.environ,
            "BILLING_DATA_DIR": str(work),
            "BILLING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "BILLING_ADMIN_API_KEY": ADMIN_KEY,
            "BILLING_API_PORT": str(port),
            "BILLING_LOG_LEVEL": "WARNING",
        }
        for args, log in ((["serve"], "api.log"), (["realtime"], "realtime.log")):
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", *args],
                    env=env,
                    cwd=ROOT,
                    stdout=open(work / log, "ab"),  # noqa: SIM115 - owned by the child
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz")
            headers = {"X-API-Key": ADMIN_KEY}
            check = "/api/v1/billing/quotas/t001/check?meter=api_calls&quantity=1"
            print(f"latency: {clients} concurrent clients, {seconds:.0f} s each ...", flush=True)
            healthz = asyncio.run(_load(base, "/healthz", {}, clients, seconds))
            checks = asyncio.run(_load(base, check, headers, clients, seconds))
            figures["healthz"] = _ms(healthz)
            figures["quota_check"] = _ms(checks)
            figures["quota_check_p99_vs_healthz_p99"] = round(
                _pct(checks, 99) / _pct(healthz, 99), 2
            )
            print(
                f"latency, open loop: {clients} clients x {per_client:g} requests/s ...",
                flush=True,
            )
            figures["paced_requests_per_s"] = round(clients * per_client)
            paced_healthz = asyncio.run(
                _paced_load(base, "/healthz", {}, clients, seconds, per_client)
            )
            paced_checks = asyncio.run(
                _paced_load(base, check, headers, clients, seconds, per_client)
            )
            figures["paced_healthz"] = _ms(paced_healthz)
            figures["paced_quota_check"] = _ms(paced_checks)
            figures["paced_quota_check_p99_vs_healthz_p99"] = round(
                _pct(paced_checks, 99) / _pct(paced_healthz, 99), 2
            )
            print("freshness and open-loop latency under steady load ...", flush=True)
            figures.update(
                _freshness(
                    settings,
                    base,
                    headers,
                    rate,
                    seconds,
                    tenants,
                    checks=(check, clients, per_client),
                )
            )
            figures["loaded_quota_check_p99_vs_healthz_p99"] = round(
                figures["loaded_quota_check"]["p99_ms"] / figures["loaded_healthz"]["p99_ms"], 2
            )
        finally:
            for child in children:
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGINT)
                    try:
                        child.wait(20)
                    except subprocess.TimeoutExpired:
                        os.killpg(child.pid, signal.SIGKILL)
    (out_dir / "realtime.json").write_text(json.dumps(figures, indent=2) + "\n")
    _print(figures)
    return 0


def _paced_in_process(base, path, headers, clients, seconds, per_client) -> list[list[float]]:
    """The open loop to ``/healthz`` (the baseline under the same load), then to ``path``."""
    return [
        asyncio.run(_paced_load(base, "/healthz", {}, clients, seconds, per_client)),
        asyncio.run(_paced_load(base, path, headers, clients, seconds, per_client)),
    ]


def _freshness(settings, base, headers, rate, seconds, tenants, checks) -> dict:
    """Freshness of probe events under ``rate`` background events/s; meanwhile, in a process of
    its own (so this one's producer threads do not slow it), the open-loop quota-check load
    ``checks`` = (path, clients, requests/s per client), whose cache now refreshes changed
    usage."""
    producer = Producer(
        settings.kafka_client_config(
            **{
                "linger.ms": 5,
                "acks": "all",
                "enable.idempotence": True,
                "request.timeout.ms": 10000,
            }
        )
    )
    acked: dict[str, float] = {}
    seen_raw: dict[str, float] = {}
    stop = threading.Event()

    def raw_consumer():
        from adapters.kafka import topic_state

        state = topic_state(settings, settings.usage_topic)
        consumer = Consumer(
            settings.kafka_client_config(
                **{"group.id": "bench-raw", "enable.auto.commit": False, "fetch.wait.max.ms": 10}
            )
        )
        consumer.assign(
            [TopicPartition(settings.usage_topic, p.partition, p.high) for p in state.partitions]
        )
        while not stop.is_set():
            for msg in consumer.consume(500, 0.05):
                if msg.error() is None and msg.key() == b"probe":
                    seen_raw.setdefault(orjson.loads(msg.value())["id"], time.perf_counter())
        consumer.close()

    reader = threading.Thread(target=raw_consumer, daemon=True)
    reader.start()
    time.sleep(2)

    def background():
        interval = 1 / rate
        n, next_at = 0, time.perf_counter()
        while not stop.is_set():
            tenant = f"t{n % tenants:03d}"
            producer.produce(settings.usage_topic, _event(f"bg-{n}", tenant), key=tenant.encode())
            producer.poll(0)
            n += 1
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        producer.flush(10)

    loader = threading.Thread(target=background, daemon=True)
    loader.start()
    time.sleep(1)
    check_path, clients, per_client = checks
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    loaded_checks = pool.submit(
        _paced_in_process, base, check_path, headers, clients, seconds, per_client
    )
    visible: list[float] = []
    raw: list[float] = []
    client = httpx.Client(headers=headers, timeout=5)
    probes = int(seconds * 10)
    for k in range(1, probes + 1):
        event_id = f"probe-{k}"

        def on_ack(err, _msg, event_id=event_id):
            acked[event_id] = time.perf_counter() if err is None else err

        producer.produce(
            settings.usage_topic, _event(event_id, "probe"), key=b"probe", on_delivery=on_ack
        )
        while event_id not in acked:
            producer.poll(0.001)
        sent = acked[event_id]
        if not isinstance(sent, float):
            raise RuntimeError(f"Kafka refused probe {k}: {sent}")
        via_cost = k % 2 == 1
        while True:
            if via_cost:
                body = client.get(f"{base}/api/v1/billing/realtime-cost/probe").json()
                used = int(body["usage"].get("api_calls", "0"))
            else:
                body = client.get(
                    f"{base}/api/v1/billing/quotas/probe/check?meter=api_calls"
                ).json()
                used = int(body["used"])
            if used >= k:
                visible.append(time.perf_counter() - sent)
                break
            if time.perf_counter() - sent > 30:
                raise RuntimeError(f"probe {k} not visible after 30 s")
            time.sleep(0.005)
        if event_id in seen_raw:
            raw.append(max(seen_raw[event_id] - sent, 0.0))
        time.sleep(0.1)
    loaded_healthz, loaded = loaded_checks.result()  # both under the same steady load
    pool.shutdown()
    stop.set()
    loader.join()
    reader.join()
    client.close()
    return {
        "freshness": _ms(visible),
        "raw_kafka_delivery": _ms(raw) if raw else None,
        "freshness_p99_vs_raw_p99": round(_pct(visible, 99) / _pct(raw, 99), 1) if raw else None,
        "loaded_healthz": _ms(loaded_healthz),
        "loaded_quota_check": _ms(loaded),
    }


def _print(f: dict) -> None:
    h, q, fr = f["healthz"], f["quota_check"], f["freshness"]
    print()
    print(f"quota check, {f['clients']} concurrent clients ({q['requests']:,} requests)")
    print(f"  baseline /healthz   p50 {h['p50_ms']} ms  p99 {h['p99_ms']} ms")
    print(
        f"  quota check         p50 {q['p50_ms']} ms  p99 {q['p99_ms']} ms  "
        f"({f['quota_check_p99_vs_healthz_p99']}x the baseline's p99; target p99 <= 5 ms)"
    )
    ph, pq = f["paced_healthz"], f["paced_quota_check"]
    print(
        f"quota check, open loop: {f['clients']} clients, {f['paced_requests_per_s']:,} "
        "requests/s in all"
    )
    print(f"  baseline /healthz   p50 {ph['p50_ms']} ms  p99 {ph['p99_ms']} ms")
    print(
        f"  quota check         p50 {pq['p50_ms']} ms  p99 {pq['p99_ms']} ms  "
        f"({f['paced_quota_check_p99_vs_healthz_p99']}x the baseline's p99; "
        "target p99 <= 5 ms)"
    )
    lh, lq = f["loaded_healthz"], f["loaded_quota_check"]
    print(f"  ... the same while {f['rate_events_per_s']} events/s are consumed")
    print(f"  baseline /healthz   p50 {lh['p50_ms']} ms  p99 {lh['p99_ms']} ms")
    print(
        f"  quota check         p50 {lq['p50_ms']} ms  p99 {lq['p99_ms']} ms  "
        f"({f['loaded_quota_check_p99_vs_healthz_p99']}x the baseline's p99; "
        "target p99 <= 5 ms)"
    )
    print(f"freshness at {f['rate_events_per_s']} events/s ({fr['requests']} probes)")
    raw = f.get("raw_kafka_delivery")
    if raw:
        print(f"  baseline raw Kafka  p50 {raw['p50_ms']} ms  p99 {raw['p99_ms']} ms")
    print(
        f"  event -> API        p50 {fr['p50_ms']} ms  p99 {fr['p99_ms']} ms  "
        f"({f['freshness_p99_vs_raw_p99']}x the baseline's p99; target p99 <= 2000 ms)"
    )
