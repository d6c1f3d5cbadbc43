"""The long-running and one-shot service commands: ``broker``, ``migrate``, ``run``, ``serve``,
``realtime``."""

from __future__ import annotations

import contextlib
import gc
import signal
import sys

from billing.settings import Settings
from cli.common import load_settings


# ----------------------------------------------------------------------------- broker
def start_embedded_broker(settings: Settings):
    from ingestion.broker import BrokerError, EmbeddedBroker, parse_bootstrap

    host, port = parse_bootstrap(settings.kafka_bootstrap_servers)
    try:
        return EmbeddedBroker.start(host, port, log_file=settings.data_path / "broker.log")
    except BrokerError as exc:
        sys.exit(
            f"billing: could not start the embedded broker on {host}:{port}: {exc}. "
            "Is the port taken? Set BILLING_KAFKA_BOOTSTRAP_SERVERS to another address."
        )


def cmd_broker(args) -> int:
    from adapters.kafka import ensure_topics

    settings = load_settings()
    broker = start_embedded_broker(settings)
    ensure_topics(settings)
    print(f"Kafka-compatible broker (Tansu, memory storage) at {broker.bootstrap_servers}")
    print(f"topics: {settings.usage_topic}, {settings.billing_events_topic}; Ctrl-C stops it")
    sys.stdout.flush()
    try:
        broker.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
        broker.stop()
    print(f"billing: the broker exited with code {broker.process.returncode}", file=sys.stderr)
    return 1


# ----------------------------------------------------------------------------- migrate / run
def cmd_migrate(args) -> int:
    from billing.control_plane.db import migrate

    settings = load_settings()
    migrate(settings)
    print(f"control plane at {settings.resolved_control_db_url} is up to date")
    return 0


def run_once(settings: Settings) -> int:
    import dagster as dg

    from adapters.warehouse.connection import Warehouse
    from billing.control_plane.db import migrate
    from dagster_project.instance import prepare_dagster_home
    from dagster_project.pipeline import run_pipeline

    prepare_dagster_home(settings)
    migrate(settings)
    Warehouse(settings).ensure_schema()
    with dg.DagsterInstance.get() as instance:
        outcome = run_pipeline(settings, instance)
    for run in outcome.runs:
        state = "ok" if run.success else f"FAILED: {run.error}"
        print(f"  {run.job:<20} run {run.run_id[:8]}  {state}")
    if outcome.landing.get("skipped"):
        print(f"  {outcome.landing['skipped']}")
    elif outcome.landing:
        landing = outcome.landing
        print(
            f"  landed {landing.get('landed', 0)} events "
            f"({landing.get('duplicates', 0)} duplicates skipped, "
            f"{landing.get('late', 0)} late); periods with new events: "
            f"{', '.join(outcome.pending_periods) or 'none'}; periods built: "
            f"{', '.join(outcome.built_periods) or 'none'}"
        )
    for name, landed in sorted(outcome.cost_files.items()):
        print(f"  cost file {name}: {landed['status']}, {landed['rows']} rows")
    return 0 if outcome.success else 1


def cmd_run(args) -> int:
    settings = load_settings()
    return run_once(settings)


# ----------------------------------------------------------------------------- serve
def cmd_serve(args) -> int:
    import uvicorn

    from api.main import create_app

    settings = load_settings()
    sys.setswitchinterval(settings.api_switch_interval_ms / 1000)
    app = create_app(settings)
    # The ~160k objects of the imported libraries and the app never die: moved out of the
    # collector's sight, a full collection no longer walks them (an 80 ms pause, every request
    # of which waits).
    gc.collect()
    gc.freeze()
    # uvicorn stops gracefully on SIGINT and SIGTERM, then raises the signal again: here a
    # KeyboardInterrupt once the server is down.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            app,
            host=args.host or settings.api_host,
            port=args.port or settings.api_port,
            log_level="info",
        )
    return 0


# ----------------------------------------------------------------------------- realtime
def cmd_realtime(args) -> int:
    import threading

    from billing.control_plane.db import migrate
    from ingestion.realtime_delivery import run_realtime

    settings = load_settings()
    migrate(settings)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()  # the consumer commits or drops its batch, then returns

    signal.signal(signal.SIGINT, on_signal)  # SIGTERM is forwarded to it (main)
    print(
        f"real-time consumer {settings.realtime_consumer_name} on {settings.usage_topic}; "
        "Ctrl-C stops it"
    )
    sys.stdout.flush()
    run_realtime(settings, stop)
    return 0
