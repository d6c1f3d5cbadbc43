"""Standing check: ``kill -9`` at random moments loses nothing and doubles nothing.

``billing run`` (landing, dbt, finalization, payment collection against localstripe) and
``billing realtime`` are started as real subprocesses and killed with SIGKILL, with everything
they started (their process group, as an OOM kill or a lost container would), at moments drawn
from a seeded random generator (the seed is printed; ``BILLING_CRASH_SEED=<seed>`` replays a
failure), each followed by a restart. At the end:

* every accepted event is in the usage mart (and the real-time totals) exactly once;
* the invoices equal those of a reference data directory that got the same inputs and never
  crashed;
* invoice numbers are unique and consecutive;
* localstripe holds exactly one PaymentIntent per invoice attempt, as the control plane records.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.stripe.emulator import CARD_DECLINED, CARD_OK
from adapters.stripe.gateway import StripeGateway
from adapters.warehouse.connection import Warehouse
from adapters.warehouse.serving import ServingReader
from api.main import create_app
from billing.control_plane.db import dispose_engines, session_scope
from billing.control_plane.models import PaymentAttempt, RealtimeUsage
from billing.rules.finalization import LockHeld, lease_lock
from billing.rules.periods import period_start
from billing.settings import Settings
from tests.conftest import ADMIN_KEY, Clock, cloud_event, produce, seed_meters
from tests.plans import per_unit, plan

ROOT = Path(__file__).resolve().parents[2]
BILLING = str(Path(sys.executable).parent / "billing")
ADMIN = {"X-API-Key": ADMIN_KEY}
BASE = "/api/v1/billing"
STRIPE_KEY, STRIPE_SECRET = "sk_test_crash", "whsec_test_crash"
SEED = int(os.environ.get("BILLING_CRASH_SEED") or random.SystemRandom().randrange(10**6))
TENANTS = {"tenant-a": CARD_OK, "tenant-b": CARD_OK, "tenant-c": CARD_DECLINED}
PLAN = plan(
    "metered",
    "Metered",
    {"amount": "10", "timing": "in_advance"},
    per_unit("calls", "0.10"),
    per_unit("value_sum", "0.015"),
)
# 8 + 12 kills: a restarted consumer is up in a second or two, a restarted run takes longer,
# the longer the later its phase. In this order, so that the finalization kill hits the first
# finalization and the payments kill the first collection (later ones are no-ops).
RUN_KILLS = {"landing": 3, "dbt": 3, "finalization": 1, "payments": 1}
REALTIME_KILLS = 12
# Where a kill of `billing run` lands: the output line (or process) that starts the phase,
# and the longest delay after it (finalizing the invoices and collecting them take ~0.1 s).
PHASES = {
    "landing": ("landing batch", 0.4),
    "dbt": ("running dbt build", 8.0),
    "finalization": ("finalizing the periods due", 0.1),
    "payments": ("collecting payments", 0.3),
}

pytestmark = pytest.mark.slow


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _events(prefix: str, count: int, start: datetime, end: datetime, rng: random.Random):
    """``count`` events between ``start`` and ``end``, for the tenants in turn."""
    span = (end - start).total_seconds()
    return [
        cloud_event(
            f"{prefix}-{i}",
            list(TENANTS)[i % len(TENANTS)],
            start + timedelta(seconds=rng.uniform(0, span)),
            {"value": rng.randint(1, 9), "user_id": f"u{i % 5}", "region": "eu"},
        )
        for i in range(count)
    ]


def _expected(events: list[dict]) -> dict[tuple[str, str, date], Decimal]:
    """Per tenant, meter and period: the count and the value sum of the distinct events."""
    out: Counter = Counter()
    for e in {(e["source"], e["id"]): e for e in events}.values():
        t = datetime.fromisoformat(e["time"].replace("Z", ""))
        key = (e["subject"], period_start(t))
        out[(key[0], "calls", key[1])] += 1
        out[(key[0], "value_sum", key[1])] += e["data"]["value"]
    return {k: Decimal(v) for k, v in out.items()}


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "STRIPE_"))}
    env.update(
        BILLING_DATA_DIR=str(settings.data_path),
        BILLING_KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        BILLING_USAGE_TOPIC=settings.usage_topic,
        BILLING_BILLING_EVENTS_TOPIC=settings.billing_events_topic,
        BILLING_LANDING_CONSUMER_NAME=settings.landing_consumer_name,
        BILLING_LANDING_BATCH_SIZE=str(settings.landing_batch_size),
        BILLING_REALTIME_BATCH_SIZE=str(settings.realtime_batch_size),
        BILLING_GRACE_PERIOD_HOURS=str(settings.grace_period_hours),
        BILLING_ADMIN_API_KEY=ADMIN_KEY,
        BILLING_LOG_LEVEL="INFO",
        DAGSTER_HOME=str(settings.data_path / "dagster"),
        **extra,
    )
    return env


class Command:
    """A ``billing`` subprocess whose output is read line by line in a thread."""

    started: list[Command] = []  # killed at the end of each test, whatever happened

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [BILLING, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        Command.started.append(self)

    def _read(self) -> None:
        with open(self.log, "a") as out:
            for line in self.proc.stdout:
                self.lines.append(line)
                out.write(line)
                out.flush()

    def saw(self, marker: str) -> bool:
        return any(marker in line for line in list(self.lines))

    def wait_for(self, marker: str, timeout: float) -> bool:
        """True once ``marker`` appeared; False if the command exited (or timed out) first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.saw(marker):
                return True
            if self.proc.poll() is not None:
                return self.saw(marker)
            time.sleep(0.02)
        return False

    def kill9(self) -> bool:
        """SIGKILL to the command and everything it started; False if it had already exited."""
        exited = self.proc.poll() is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(10)
        return not exited

    def finish(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            pytest.fail(f"{self.proc.args[1]} did not finish: {''.join(self.lines)[-3000:]}")
        self._reader.join(10)
        return self.proc.returncode


@pytest.fixture(autouse=True)
def _no_command_left():
    yield
    while Command.started:
        command = Command.started.pop()
        if command.proc.poll() is None:
            command.kill9()


# ------------------------------------------------------------------------ billing run
def _seed_billing(settings: Settings, gateway: StripeGateway) -> None:
    """The meters, one plan, a subscription per tenant from October 1 and a Stripe customer
    with a card each (one declining)."""
    seed_meters(settings)
    app = create_app(settings)
    app.state.clock = Clock(datetime(2026, 10, 1))
    with TestClient(app) as client:
        assert client.post(f"{BASE}/plans", json=PLAN, headers=ADMIN).status_code == 201
        for tenant in TENANTS:
            client.put(f"{BASE}/tenants/{tenant}", json={"name": tenant}, headers=ADMIN)
            response = client.post(
                f"{BASE}/subscriptions",
                json={"tenant_id": tenant, "plan_code": "metered"},
                headers=ADMIN,
            )
            assert response.status_code == 201, response.text
    for tenant, card in TENANTS.items():
        customer = gateway.create_customer(tenant, tenant, None)
        gateway.attach_card(customer, gateway.create_card(card))
    dispose_engines()


def _usage(settings: Settings) -> dict[tuple[str, str, date], Decimal]:
    rows, _ = ServingReader(settings).query(
        "select tenant_id, meter_key, period_start, quantity from {fct_usage_period} "
        "where meter_key in ('calls', 'value_sum')"
    )
    return {(r["tenant_id"], r["meter_key"], r["period_start"]): r["quantity"] for r in rows}


def _invoices(settings: Settings) -> dict[tuple, tuple]:
    rows, _ = ServingReader(settings).query(
        "select subscription_id, period_start, status, invoice_number, total_amount "
        "from {fct_invoices}"
    )
    return {
        (r["subscription_id"], r["period_start"], r["status"]): (
            r["invoice_number"],
            r["total_amount"],
        )
        for r in rows
    }


def _numbers(settings: Settings) -> list[str]:
    with Warehouse(settings).connection() as con:
        return [r[0] for r in con.fetchall("select invoice_number from raw.finalized_invoices")]


@pytest.mark.timeout(1200)  # about 3 minutes on an idle machine; far more on a busy one
def test_billing_run_killed_at_random_moments_loses_nothing(make_settings, localstripe, tmp_path):
    print(f"crash seed {SEED} (BILLING_CRASH_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    localstripe.flush()
    settings = make_settings(grace_period_hours=0, landing_batch_size=10)
    reference = settings.model_copy(update={"data_dir": tmp_path / "reference"})
    stripe_env = {
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": localstripe.api_base,
        "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
    }
    gateway = StripeGateway(
        settings.model_copy(
            update={"stripe_api_key": STRIPE_KEY, "stripe_api_base": localstripe.api_base}
        )
    )
    _seed_billing(settings, gateway)
    shutil.copytree(settings.data_path, reference.data_path)  # the same control plane
    now = utcnow()
    current = datetime.combine(period_start(now), datetime.min.time())
    # October and November: finalized by the first run that gets through dbt (grace 0).
    produced = _events("old", 120, datetime(2026, 10, 1), datetime(2026, 11, 30, 23), rng)
    produced += produced[:7]  # re-sent duplicates
    produce(settings, [*produced, b"{not json", b'{"specversion": "1.0"}'])
    phases = [name for name, n in RUN_KILLS.items() for _ in range(n)]
    kills, attempts, log = [], 0, tmp_path / "runs.log"
    while len(kills) < len(phases):
        attempts += 1
        assert attempts <= 2 * len(phases), f"kills landed: {kills}"
        phase = phases[len(kills)]
        # New events of the current period for every run to land (and rate).
        chunk = _events(f"new{attempts}", 40, max(current, now - timedelta(days=5)), now, rng)
        produce(settings, chunk)
        produced += chunk
        run = Command(["run"], _env(settings, **stripe_env), log)
        marker, longest = PHASES[phase]
        began = time.monotonic()
        if run.wait_for(marker, 120):
            time.sleep(rng.uniform(0, longest))
        if run.kill9():
            kills.append(phase)
            print(f"run {attempts}: killed in {phase} after {time.monotonic() - began:.1f}s")
        else:
            print(f"run {attempts} ended (exit {run.proc.returncode}) before its {phase} kill")
        sys.stdout.flush()
    print(f"billing run: {len(kills)} kills in {attempts} runs: {dict(Counter(kills))}")
    # The restart after the last kill, and the reference that never crashed, side by side.
    last = Command(["run"], _env(settings, **stripe_env), tmp_path / "last.log")
    ref = Command(["run"], _env(reference), tmp_path / "reference.log")
    assert last.finish(300) == 0, "".join(last.lines)[-4000:]
    assert ref.finish(300) == 0, "".join(ref.lines)[-4000:]

    # Every accepted event exactly once; the invoices of a run that never crashed.
    expected = _expected(produced)
    assert _usage(settings) == expected
    assert _usage(reference) == expected
    invoices, reference_invoices = _invoices(settings), _invoices(reference)
    assert invoices == reference_invoices
    assert {period for _, period, status in invoices if status == "finalized"} >= {
        date(2026, 10, 1),
        date(2026, 11, 1),
    }
    # Invoice numbers: each used once, none skipped.
    numbers = _numbers(settings)
    assert len(numbers) == len(set(numbers)) >= 2 * len(TENANTS)
    by_year: dict[str, list[int]] = {}
    for number in numbers:
        year, sequence = re.fullmatch(r"INV-(\d{4})-(\d+)", number).groups()
        by_year.setdefault(year, []).append(int(sequence))
    for sequences in by_year.values():
        assert sorted(sequences) == list(range(1, len(sequences) + 1)), numbers
    # One PaymentIntent per attempt, in localstripe's own records; every finalized invoice
    # collected (attempt 1: no webhook comes back here, so none is retried).
    intents = Counter(
        (i["metadata"].get("invoice_id"), i["metadata"].get("attempt"))
        for i in gateway.list_payment_intents()
    )
    assert intents and max(intents.values()) == 1, intents
    with session_scope(settings) as session:
        attempts_recorded = {
            (a.invoice_id, str(a.attempt_number)): a.payment_intent_id
            for a in session.scalars(select(PaymentAttempt))
        }
    assert set(attempts_recorded) == set(intents)
    assert all(attempts_recorded.values()), attempts_recorded
    finalized_ids, _ = ServingReader(settings).query(
        "select invoice_id from {fct_invoices} where status = 'finalized' and total_amount > 0"
    )
    assert {(r["invoice_id"], "1") for r in finalized_ids} == set(intents)
    dispose_engines()


# ------------------------------------------------------------------------ billing realtime
def _realtime_totals(settings: Settings) -> dict[tuple[str, str, date], Decimal]:
    with session_scope(settings) as session:
        rows = session.scalars(
            select(RealtimeUsage).where(RealtimeUsage.meter_key.in_(["calls", "value_sum"]))
        ).all()
        return {(r.tenant_id, r.meter_key, r.period_start): r.quantity for r in rows}


def test_realtime_consumer_killed_at_random_moments_counts_each_event_once(make_settings, tmp_path):
    print(f"crash seed {SEED} (BILLING_CRASH_SEED={SEED} replays it)")
    rng = random.Random(SEED + 1)
    settings = make_settings(realtime_batch_size=20)
    seed_meters(settings)
    now = utcnow()
    previous = period_start(period_start(now) - timedelta(days=1))
    start = datetime.combine(previous, datetime.min.time())
    produced: list[dict] = []
    stop = threading.Event()

    def keep_producing() -> None:  # events (and re-sent duplicates) while the kills go on
        n = 0
        while not stop.is_set():
            n += 1
            chunk = _events(f"rt{n}", 30, start, utcnow() - timedelta(seconds=1), rng)
            chunk += chunk[:3]
            produce(settings, chunk)
            produced.extend(chunk)
            time.sleep(0.1)

    producer = threading.Thread(target=keep_producing, daemon=True)
    producer.start()
    log, kills = tmp_path / "realtime.log", 0
    try:
        while kills < REALTIME_KILLS:
            consumer = Command(["realtime"], _env(settings), log)
            assert consumer.wait_for("real-time consumer", 60), "".join(consumer.lines)[-3000:]
            time.sleep(rng.uniform(0, 1.5))
            assert consumer.kill9(), "".join(consumer.lines)[-3000:]
            kills += 1
    finally:
        stop.set()
        producer.join(30)
    print(f"billing realtime: {kills} kills, {len(produced)} events produced")
    consumer = Command(["realtime"], _env(settings), log)
    expected = _expected(produced)
    deadline, totals = time.monotonic() + 60, {}
    while time.monotonic() < deadline and totals != expected:
        time.sleep(0.3)
        totals = _realtime_totals(settings)
    consumer.proc.send_signal(signal.SIGTERM)
    assert consumer.finish(30) == 0
    assert totals == expected
    dispose_engines()


# ------------------------------------------------------------------------ the lease lock
def test_a_lease_held_by_a_dead_process_is_taken_over(settings):
    """A run killed while finalizing leaves its lease behind; the next run must not wait for
    it to expire. A live holder still keeps it."""
    import socket

    warehouse = Warehouse(settings)
    warehouse.ensure_schema()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = utcnow()
    with warehouse.connection() as con:
        for name, pid in (("invoicing:dead", dead.pid), ("invoicing:alive", os.getppid())):
            with con.transaction():
                con.execute(
                    "insert into raw.pipeline_locks (lock_name, locked_by, locked_at, "
                    "lock_until) values (:n, :by, :now, :until)",
                    {
                        "n": name,
                        "by": f"{socket.gethostname()}:{pid}",
                        "now": now,
                        "until": now + timedelta(minutes=30),
                    },
                )
        with lease_lock(con, "invoicing:dead", now):
            holder = con.fetchone(
                "select locked_by from raw.pipeline_locks where lock_name = 'invoicing:dead'"
            )
            assert holder[0] == f"{socket.gethostname()}:{os.getpid()}"
        with pytest.raises(LockHeld), lease_lock(con, "invoicing:alive", now):
            pass
