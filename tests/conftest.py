"""Shared fixtures: a real Tansu broker, real PostgreSQL databases, DuckDB files in tmp dirs.

Every test gets its own topics, data directory and (where asked) PostgreSQL database, so tests
never see each other's data; the broker is shared by the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import psycopg
import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# Every dbt process the suite starts reuses the parse of an earlier test's warehouse (see
# tests/dbt_shim/sitecustomize.py, seed_dbt_parse and keep_dbt_parse).
DBT_SHIM = Path(__file__).resolve().parent / "dbt_shim"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(DBT_SHIM), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

from adapters.kafka import EventProducer, ensure_topics  # noqa: E402
from billing.rules.meters import Aggregation, Meter  # noqa: E402
from billing.settings import Settings, get_settings  # noqa: E402
from ingestion.broker import EmbeddedBroker, free_port  # noqa: E402
from tests.dbt_shim.sitecustomize import leave_duckdb_path_out_of_parse_state  # noqa: E402

PG_ADMIN_DSN = os.environ.get(
    "BILLING_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADMIN_KEY = "test-admin-key-0123456789abcdef"
ADMIN = {"X-API-Key": ADMIN_KEY}
API_BASE = "/api/v1/billing"

# The meters of the hand-made aggregation cases: one event type, every aggregation.
TEST_METERS = (
    Meter("calls", "test.call", Aggregation.COUNT, None, "call", ("region",), "Calls"),
    Meter("value_sum", "test.call", Aggregation.SUM, "value", "unit"),
    Meter("value_max", "test.call", Aggregation.MAX, "value", "unit"),
    Meter("users", "test.call", Aggregation.UNIQUE_COUNT, "user_id", "user"),
    Meter("value_latest", "test.call", Aggregation.LATEST, "value", "unit"),
)


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="also run the soak test (marker soak, SOAK_SECONDS long; make soak)",
    )


# Files of a few long tests that each run whole pipelines (minutes per file): their tests are
# scheduled one by one, so the two workers' shares even out. Every other file keeps its tests on
# one worker (module-scoped fixtures are built once).
SPLIT_FILES = frozenset(
    {"test_usage_marts.py", "test_invoices.py", "test_cost_dashboard.py", "test_cost_only.py"}
)


def _schedule_rank(item) -> int:
    """Longest first: the split files and the crash test, the other end-to-end files, the
    integration files, the unit tests (seconds, they fill the end)."""
    lane = item.path.parent.name
    if item.path.name in SPLIT_FILES or item.path.name == "test_crash_safety.py":
        return 0
    return {"e2e": 1, "integration": 2}.get(lane, 3)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    # The soak test runs for minutes: deselected unless asked for with --soak.
    if not config.getoption("--soak"):
        deselected = [item for item in items if item.get_closest_marker("soak")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if not item.get_closest_marker("soak")]
    # --dist loadgroup (pyproject addopts): one group per file, per test in SPLIT_FILES. The
    # sort is stable and by file, so each file's tests stay together and in order.
    for item in items:
        split = item.path.name in SPLIT_FILES
        item.add_marker(pytest.mark.xdist_group(item.nodeid if split else str(item.path)))
    items.sort(key=_schedule_rank)


class Clock:
    """A settable clock for the API (``app.state.clock``) and the pipeline's ``now``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def localstripe():
    """localstripe (the Stripe emulator) on a free port, shared by the session."""
    from adapters.stripe.emulator import LocalStripe

    with LocalStripe.start() as running:
        yield running


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker.start() as running:
        yield running


def parse_dbt_project() -> None:
    """Parse the dbt project once (cached), before anything loads the Dagster definitions.

    Called by the autouse fixture of the integration and e2e lanes (their conftest.py); the
    unit lane never parses it."""
    from dagster_project.transform.project import dbt_project

    share_dbt_setup()
    dbt_project()


_shared_dbt_setup = False


def share_dbt_setup() -> None:
    """The workers run dbt in process (dagster_project/transform/in_process.py): give them the
    parse-state shim a ``dbt`` process of the suite gets (tests/dbt_shim), once per worker."""
    global _shared_dbt_setup
    if _shared_dbt_setup:
        return
    _shared_dbt_setup = True
    leave_duckdb_path_out_of_parse_state()


def _pg_admin():
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        with _pg_admin() as con:
            con.execute("select 1")
        return True
    except psycopg.OperationalError:
        return False


_PG_TEST_DATABASE = f"billing_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_database(postgres_available) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its URL."""
    if not postgres_available:
        pytest.fail("PostgreSQL is not running at 127.0.0.1:5432 (.ci/run starts it)")
    # One name per worker process, its database made anew for each test: dbt keys its parse
    # on the database name, so a new name per test would parse the whole project again.
    name = _PG_TEST_DATABASE
    with _pg_admin() as con:
        con.execute(f'drop database if exists "{name}" with (force)')
        con.execute(f'create database "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with _pg_admin() as con:
        con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def dbt_parse_cache(tmp_path_factory) -> Path:
    """This worker's latest dbt parse of each distinct dbt command, per warehouse kind."""
    return tmp_path_factory.mktemp("dbt-parse-cache")


def _parse_key(settings: Settings) -> str:
    """What a dbt parse depends on beyond the project and the command: the warehouse (a
    DuckDB file's path is left out of it in tests, tests/dbt_shim; a PostgreSQL database's
    name is not, and is the same for every test of a worker, ``pg_database``)."""
    if settings.warehouse_kind == "duckdb":
        return "duckdb"
    return "postgres-" + settings.resolved_warehouse_url.rsplit("/", 1)[-1]


def seed_dbt_parse(settings: Settings, cache: Path) -> None:
    """Give a new data directory the dbt parses an earlier test left in ``cache``
    (``<data dir>/dbt/<command hash>/partial_parse.msgpack``, as the pipeline keeps them), so
    its first builds parse only what changed instead of the whole project."""
    for parsed in (cache / _parse_key(settings)).glob("*/partial_parse.msgpack"):
        target = settings.data_path / "dbt" / parsed.parent.name
        if not (target / parsed.name).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(parsed, target / parsed.name)


def dbt_target_with_parse(settings: Settings, name: str) -> Path:
    """A new dbt target directory under the data directory for a dbt command a test runs
    itself, given the pipeline's last parse there (the same project, profile and vars), so
    the command parses only what changed instead of the whole project."""
    target = settings.data_path / name
    target.mkdir(parents=True, exist_ok=True)
    parses = sorted(
        (settings.data_path / "dbt").glob("*/partial_parse.msgpack"),
        key=lambda p: p.stat().st_mtime,
    )
    if parses:
        shutil.copyfile(parses[-1], target / parses[-1].name)
    return target


def run_dbt(
    settings: Settings, target: str, args: list[str], timeout: int
) -> subprocess.CompletedProcess:
    """A dbt command a test runs itself on the settings' warehouse, in a target directory
    ``target`` given the pipeline's last parse (see ``dbt_target_with_parse``); it must
    succeed."""
    env = {
        **os.environ,
        **settings.dbt_env(),
        "DBT_TARGET_PATH": str(dbt_target_with_parse(settings, target)),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=Path(__file__).resolve().parents[1] / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return done


def keep_dbt_parse(settings: Settings, cache: Path) -> None:
    """Keep the dbt parses of a data directory in ``cache`` for the next tests."""
    for parsed in (settings.data_path / "dbt").glob("*/partial_parse.msgpack"):
        target = cache / _parse_key(settings) / parsed.parent.name
        target.mkdir(parents=True, exist_ok=True)
        staged = target / f"{parsed.name}.{uuid.uuid4().hex[:8]}"
        shutil.copyfile(parsed, staged)
        os.replace(staged, target / parsed.name)


@pytest.fixture
def make_settings(tmp_path: Path, broker: EmbeddedBroker, monkeypatch, dbt_parse_cache):
    """Build isolated settings (own data dir and topics) and export them to the environment,
    so Dagster runs and subprocesses see the same ones."""

    made: list[Settings] = []

    def make(**overrides) -> Settings:
        suffix = uuid.uuid4().hex[:8]
        values = {
            "data_dir": tmp_path / f"data-{suffix}",
            "kafka_bootstrap_servers": broker.bootstrap_servers,
            "usage_topic": f"usage-{suffix}",
            "billing_events_topic": f"billing-{suffix}",
            "landing_consumer_name": f"landing-{suffix}",
            "admin_api_key": ADMIN_KEY,
            **overrides,
        }
        settings = Settings(_env_file=None, **values)
        for name in Settings.model_fields:
            monkeypatch.delenv(f"BILLING_{name.upper()}", raising=False)
        for name, value in values.items():
            monkeypatch.setenv(f"BILLING_{name.upper()}", str(value))
        monkeypatch.setenv("DAGSTER_HOME", str(settings.data_path / "dagster"))
        get_settings.cache_clear()
        settings.data_path.mkdir(parents=True, exist_ok=True)
        seed_dbt_parse(settings, dbt_parse_cache)
        made.append(settings)
        ensure_topics(settings)
        return settings

    yield make
    for settings in made:
        keep_dbt_parse(settings, dbt_parse_cache)
    get_settings.cache_clear()


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def target_settings(request, make_settings) -> Settings:
    """Settings on each warehouse in turn: embedded DuckDB, then a throwaway PostgreSQL database."""
    if request.param == "duckdb":
        return make_settings()
    return make_settings(warehouse_url=request.getfixturevalue("pg_database"))


def clocked_app(settings: Settings, now: datetime):
    """The API of ``settings`` with the test meters seeded and a settable clock at ``now``:
    ``(app, clock)``."""
    from api.main import create_app

    seed_meters(settings)
    clock = Clock(now)
    app = create_app(settings)
    app.state.clock = clock
    return app, clock


def admin_api(client):
    """``call(method, path, body=None, status=200)``: a request under ``/api/v1/billing`` with
    the admin key, its status asserted (the body shown if it differs), its JSON answer."""

    def call(method: str, path: str, body=None, status: int = 200):
        response = client.request(method, f"{API_BASE}{path}", json=body, headers=ADMIN)
        assert response.status_code == status, response.text
        return response.json()

    return call


def cloud_event(
    event_id: str,
    tenant: str,
    time: datetime | str,
    data: dict,
    event_type: str = "test.call",
    source: str = "tests",
) -> dict:
    when = time if isinstance(time, str) else time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": when,
        "subject": tenant,
        "data": data,
    }


def month_events(tenant: str, month: int, count: int, value: int = 1, first: int = 0) -> list[dict]:
    """``count`` events of ``tenant`` with ``{"value": value}`` (and a user and region), one a
    second from 12:00 on the 5th of ``month`` 2026; ids ``<tenant>-<month>-<i>`` from ``first``."""
    return [
        cloud_event(
            f"{tenant}-{month}-{i}",
            tenant,
            datetime(2026, month, 5, 12, i % 60, i // 60),
            {"value": value, "user_id": "u", "region": "eu"},
        )
        for i in range(first, first + count)
    ]


def produce(settings: Settings, events: list[dict | bytes]) -> None:
    producer = EventProducer(settings)
    messages = []
    for event in events:
        if isinstance(event, bytes):
            messages.append((b"raw", event))
        else:
            messages.append((str(event.get("subject")).encode(), orjson.dumps(event)))
    producer.send(settings.usage_topic, messages)
    producer.close()


def seed_meters(settings: Settings, meters=TEST_METERS) -> None:
    """Create meters in the control plane (as the API would)."""
    from billing.control_plane.db import ensure_meters, migrate

    migrate(settings)
    ensure_meters(settings, meters)


def add_hard_quota(
    settings: Settings, tenant_id: str, meter: str, limit, alert_thresholds: list[str]
) -> None:
    """A hard monthly quota written straight into the control plane (as POST /quotas would,
    without the API's checks or its quota cache)."""
    from billing.control_plane.db import session_scope
    from billing.control_plane.models import ResourceQuota

    with session_scope(settings) as session:
        session.add(
            ResourceQuota(
                tenant_id=tenant_id,
                meter_key=meter,
                period="month",
                limit=limit,
                enforcement="hard",
                alert_thresholds=alert_thresholds,
            )
        )


def snapshot_meters(settings: Settings) -> None:
    """Copy the control plane into the warehouse (the pipeline's first step)."""
    from adapters.warehouse.control_snapshot import snapshot_control_plane

    snapshot_control_plane(settings)


def run_pipeline(settings: Settings):
    import dagster as dg

    from billing.control_plane.db import migrate
    from dagster_project.pipeline import run_pipeline as run

    migrate(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run(settings, instance)
    assert outcome.success, [r.error for r in outcome.runs if not r.success]
    return outcome


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by a real uvicorn server on a free port, in a thread: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
