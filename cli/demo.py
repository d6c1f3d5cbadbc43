"""``billing demo``: broker, a seeded control plane, a synthetic month of usage and cost files, a
Stripe stand-in, the pipeline, the API, the real-time consumer and the Dagster UI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from billing.settings import Settings
from cli.common import ROOT, load_settings
from cli.services import start_embedded_broker


# ----------------------------------------------------------------------------- demo
def seed_demo_control_plane(settings: Settings) -> str:
    """Demo meters, plans, coupons and subscriptions, and a tenant key for tenant-001
    (returned)."""
    from sqlalchemy import select

    from adapters.synthetic.demo import seed_demo_billing
    from adapters.synthetic.usage import SyntheticPlan, tenant_ids
    from billing import security
    from billing.control_plane.db import ensure_meters, migrate, session_scope
    from billing.control_plane.models import ApiKey
    from billing.rules.meters import DEMO_METERS

    migrate(settings)
    ensure_meters(settings, DEMO_METERS)
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(settings) as session:
        seed_demo_billing(
            session, tenant_ids(SyntheticPlan(now, now).tenants), demo_window(now)[0], now
        )
    with session_scope(settings) as session:
        existing = session.scalars(select(ApiKey).where(ApiKey.name == "demo")).first()
        if existing is not None:
            session.delete(existing)
        key_id, key, secret_hash = security.new_tenant_key()
        session.add(ApiKey(id=key_id, tenant_id="tenant-001", name="demo", secret_hash=secret_hash))
    return key


def seed_demo_cost_files(settings: Settings) -> list[str]:
    """Cost centers, allocation rules and tenant cost centers, and cost files dropped into the
    cost-files directory for the pipeline to land: the public FOCUS 1.0 and AWS CUR 2.0
    samples and a small FOCUS file for last month (allocated by tag and by API usage)."""
    import shutil

    from adapters.synthetic.demo import demo_focus_file, seed_demo_costs
    from adapters.synthetic.usage import SyntheticPlan, tenant_ids
    from billing.control_plane.db import session_scope

    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(settings) as session:
        seed_demo_costs(session, tenant_ids(SyntheticPlan(now, now).tenants))
    directory = settings.cost_files_path
    directory.mkdir(parents=True, exist_ok=True)
    samples = ROOT / "tests" / "fixtures" / "costs"
    dropped = []
    for name in ("focus-1.0-sample.csv", "aws-cur2-sample.csv"):
        if (samples / name).exists():
            shutil.copy(samples / name, directory / name)
            dropped.append(name)
    last_month = demo_window(now)[0]
    name = f"demo-focus-{last_month:%Y-%m}.csv"
    (directory / name).write_text(demo_focus_file(last_month))
    dropped.append(name)
    dropped.append(write_demo_daily_costs(settings, now))
    return dropped


DEMO_STRIPE_KEY = "sk_test_billing_demo"
DECLINED_EVERY = 5  # every fifth demo tenant has a card that declines


def start_demo_stripe(settings: Settings, log_path: Path):
    """Start localstripe, point this process and its children at it and register the API's
    webhook endpoint. Returns the emulator and the updated settings."""
    import secrets

    from adapters.stripe.emulator import LocalStripe
    from api.main import API_PREFIX

    stripe = LocalStripe.start(log_path=log_path)
    secret = "whsec_demo_" + secrets.token_hex(12)
    os.environ.update(
        STRIPE_API_KEY=DEMO_STRIPE_KEY,
        STRIPE_API_BASE=stripe.api_base,
        STRIPE_WEBHOOK_SECRET=secret,
    )
    settings = settings.model_copy(
        update={
            "stripe_api_key": DEMO_STRIPE_KEY,
            "stripe_api_base": stripe.api_base,
            "stripe_webhook_secret": secret,
        }
    )
    url = f"http://{settings.api_host}:{settings.api_port}{API_PREFIX}/stripe/webhooks"
    stripe.register_webhook("billing-demo", url, secret)
    return stripe, settings


def seed_demo_stripe(settings: Settings) -> dict[str, int]:
    """A Stripe customer per demo tenant with a test card: most pay, every fifth declines,
    the last tenant has none (collection reports it)."""
    from adapters.stripe.collection import payment_collector
    from adapters.stripe.emulator import CARD_DECLINED, CARD_OK
    from adapters.synthetic.usage import SyntheticPlan, tenant_ids
    from billing.services.payment_collection import CollectionReport

    now = datetime.now(UTC).replace(tzinfo=None)
    tenants = sorted(tenant_ids(SyntheticPlan(now, now).tenants))
    collector = payment_collector(settings)
    gateway = collector.gateway
    counts = {"paying": 0, "declining": 0, "without a card": 0}
    for number, tenant in enumerate(tenants, 1):
        customer = collector.ensure_customer(tenant, CollectionReport())
        if number == len(tenants):
            counts["without a card"] += 1
            continue
        declines = number % DECLINED_EVERY == 0
        counts["declining" if declines else "paying"] += 1
        if gateway.default_payment_method(customer) is None:
            card = gateway.create_card(CARD_DECLINED if declines else CARD_OK)
            gateway.attach_card(customer, card)
    return counts


def _wait_for_port(host: str, port: int, timeout: float = 60) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.25)
    return False


def write_demo_daily_costs(settings: Settings, now: datetime) -> str:
    """A daily cost file from the start of last month to yesterday, with a spike five days
    ago, for the cost dashboard's trend, forecast and anomaly panels."""
    from adapters.synthetic.costs import daily_focus_file

    start, today = demo_window(now)[0].date(), now.date()
    name = f"demo-daily-costs-{today:%Y-%m-%d}.csv"
    settings.cost_files_path.mkdir(parents=True, exist_ok=True)
    (settings.cost_files_path / name).write_text(
        daily_focus_file(start, today, spike=today - timedelta(days=5))
    )
    return name


def demo_window(now: datetime) -> tuple[datetime, datetime]:
    """The demo's usage: from the start of last month until now."""
    this_month = datetime(now.year, now.month, 1)
    return (this_month - timedelta(days=1)).replace(day=1), now - timedelta(minutes=1)


def produce_demo_month(settings: Settings, events: int = 200_000) -> int:
    """Last month and this month so far, for the demo tenants."""
    from adapters.kafka import produce_messages
    from adapters.synthetic.usage import SyntheticPlan, generate

    start, end = demo_window(datetime.now(UTC).replace(tzinfo=None))
    return produce_messages(settings, generate(SyntheticPlan(start=start, end=end, events=events)))


def _spawn(cmd: list[str], env: dict[str, str], log_path: Path | None) -> subprocess.Popen:
    """A child in its own session (the leader of a group holding whatever it starts), with
    SIGINT handled again (a CI job or ``nohup ... &`` starts us with it ignored) and SIGTERM
    sent to it by the kernel should this process die without stopping it. Its output goes to
    ``log_path`` (None: this process's own)."""
    from adapters.processes import child_preexec

    with open(log_path or os.devnull, "ab") as log:
        return subprocess.Popen(
            cmd,
            env=env,
            stdout=log if log_path else None,
            stderr=subprocess.STDOUT if log_path else None,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=child_preexec,  # noqa: PLW1509 - async-signal-safe calls only
        )


def _stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGINT to the child's whole process group (Ctrl-C), SIGKILL after ``timeout``."""
    from adapters.processes import stop_group

    stop_group(proc, signal.SIGINT, timeout)


def cmd_demo(args) -> int:
    from adapters.kafka import ensure_topics
    from dagster_project.instance import prepare_dagster_home

    settings = load_settings()
    home = prepare_dagster_home(settings)
    print(f"data directory: {settings.data_path}")
    broker = start_embedded_broker(settings)
    children: list[subprocess.Popen] = []
    stripe = None
    try:
        ensure_topics(settings)
        print(f"embedded broker at {broker.bootstrap_servers}")
        tenant_key = seed_demo_control_plane(settings)
        cost_files = seed_demo_cost_files(settings)
        print(f"dropped cost files {', '.join(cost_files)} into {settings.cost_files_path}")
        logs = settings.data_path / "logs"
        logs.mkdir(exist_ok=True)
        stripe, settings = start_demo_stripe(settings, logs / "localstripe.log")
        cards = seed_demo_stripe(settings)
        print(
            f"localstripe (Stripe emulator) at {stripe.api_base}: test cards "
            + ", ".join(f"{n} {what}" for what, n in cards.items())
        )
        sent = produce_demo_month(settings, args.events)
        print(f"produced {sent} synthetic usage events (duplicates and malformed ones included)")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "BILLING_DATA_DIR": str(settings.data_path),
            "BILLING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        }
        # The API first: it receives Stripe's webhooks for the payments the run collects.
        children.append(_spawn([sys.executable, "-m", "cli.main", "serve"], env, logs / "api.log"))
        _wait_for_port(settings.api_host, settings.api_port)
        print("running the pipeline (land -> dbt build -> publish -> collect payments) ...")
        sys.stdout.flush()
        # In a child: Dagster takes over SIGINT and SIGTERM while it runs a job in process
        # (a stop becomes a failed run), and the demo must stop, not go on, on either.
        pipeline = _spawn([sys.executable, "-m", "cli.main", "run"], env, None)
        children.append(pipeline)
        if pipeline.wait() != 0:
            print("billing: the pipeline failed; see the runs in the Dagster UI", file=sys.stderr)
        children.remove(pipeline)
        children.append(
            _spawn(
                [sys.executable, "-m", "cli.main", "realtime"],
                env,
                logs / "realtime.log",
            )
        )
        children.append(
            _spawn(
                [
                    str(Path(sys.executable).parent / "dagster"),
                    "dev",
                    "-w",
                    str(ROOT / "workspace.yaml"),
                    "-h",
                    settings.api_host,
                    "-p",
                    str(settings.dagster_port),
                ],
                env,
                logs / "dagster.log",
            )
        )
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        print()
        print(f"  read API     {api_url}/docs")
        print(f"  dashboard    {api_url}/dashboard  (enter the admin key)")
        print(f"  Dagster UI   http://{settings.api_host}:{settings.dagster_port}")
        print(f"  admin key    {settings.resolved_admin_api_key()}")
        print(f"  tenant key   {tenant_key}  (tenant-001)")
        print(
            f"  try:  curl -H 'X-API-Key: {tenant_key}' "
            f"'{api_url}/api/v1/billing/usage?granularity=period'"
        )
        print("  real time    billing realtime (usage, cost, alerts); logs/realtime.log")
        print(
            f"  payments:  curl -H 'X-API-Key: {settings.resolved_admin_api_key()}' "
            f"'{api_url}/api/v1/billing/invoices?status=finalized'  (payment_status, attempts)"
        )
        print(f"  logs in {logs}; Ctrl-C stops everything")
        sys.stdout.flush()
        while all(c.poll() is None for c in children):
            time.sleep(1)
        failed = [c for c in children if c.poll() is not None]
        print(f"billing: a demo process exited ({failed[0].args[:3]}); see {logs}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
        for child in reversed(children):
            _stop(child)
        if stripe is not None:
            stripe.stop()
        broker.stop()
