"""Every long-running command stops itself and everything it started on SIGTERM (what systemd,
Docker and Kubernetes send) as on Ctrl-C: each is started as a real subprocess, signalled once
it is up, and must exit within seconds leaving no process behind and its port free.
(``billing demo`` is covered the same way in tests/e2e/test_demo.py.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.broker import free_port
from tests.conftest import cloud_event, produce, seed_meters
from tests.e2e.proc_tree import alive, command_line, descendants, port_open, wait_until

ROOT = Path(__file__).resolve().parents[2]
BILLING = str(Path(sys.executable).parent / "billing")


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [BILLING, *args],
            cwd=ROOT,
            env={**os.environ, "BILLING_LOG_LEVEL": "WARNING", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # signalled alone, as systemd's `kill <main pid>` would
        )


def _stop_and_check(proc: subprocess.Popen, sig: int, log: Path, timeout: float = 10) -> int:
    """Send ``sig`` to the command alone; it must exit within ``timeout`` seconds and leave
    none of the processes it started running. Returns its exit code."""
    started = descendants(proc.pid)
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        for pid, _ in alive(started):
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"still running {timeout}s after {sig!r}: {log.read_text()[-2000:]}")
    took = time.monotonic() - sent
    if not wait_until(lambda: not alive(started), 5):
        left = alive(started)
        names = [command_line(pid) for pid, _ in left]
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pytest.fail(f"left running after {signal.Signals(sig).name}: {names}")
    print(f"{proc.args[1]}: stopped {took:.1f}s after {signal.Signals(sig).name}")
    return proc.returncode


def _up(proc: subprocess.Popen, log: Path, ready, timeout: float = 60) -> None:
    if not wait_until(lambda: ready() or proc.poll() is not None, timeout, 0.1) or (
        proc.poll() is not None
    ):
        for pid, _ in descendants(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        pytest.fail(f"did not start (exit {proc.poll()}): {log.read_text()[-2000:]}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_broker_stops_tansu_on_sigterm_as_on_ctrl_c(tmp_path, sig):
    port = free_port()
    log = tmp_path / "broker.out"
    env = {
        "BILLING_DATA_DIR": str(tmp_path / "data"),
        "BILLING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
    }
    proc = _start(["broker"], log, env)
    _up(proc, log, lambda: "Ctrl-C stops it" in log.read_text())
    assert port_open(port)
    assert any("tansu" in command_line(pid) for pid, _ in descendants(proc.pid))
    assert _stop_and_check(proc, sig, log) == 0
    assert not port_open(port), "the broker's port is still taken"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_on_sigterm_as_on_ctrl_c(settings, tmp_path, sig):
    port = free_port()
    log = tmp_path / "serve.out"
    proc = _start(["serve", "--port", str(port)], log)
    _up(proc, log, lambda: port_open(port))
    assert _stop_and_check(proc, sig, log) == 0
    assert not port_open(port)


def test_realtime_stops_on_sigterm(settings, tmp_path):
    seed_meters(settings)
    log = tmp_path / "realtime.out"
    proc = _start(["realtime"], log, {"BILLING_LOG_LEVEL": "INFO"})
    _up(proc, log, lambda: "real-time consumer" in log.read_text())
    time.sleep(1)  # consuming
    assert _stop_and_check(proc, signal.SIGTERM, log) == 0


@pytest.mark.slow
def test_run_stops_dbt_on_sigterm(settings, tmp_path):
    """A run stopped in its dbt build stops dbt too and exits 1 (it did not finish). dbt runs
    in the run's own process: no dbt process is started."""
    seed_meters(settings)
    produce(
        settings,
        [cloud_event(f"stop-{i}", "t1", "2026-11-03T10:00:00Z", {"value": 1}) for i in range(20)],
    )
    log = tmp_path / "run.out"
    proc = _start(["run"], log, {"BILLING_LOG_LEVEL": "INFO"})
    _up(
        proc,
        log,
        lambda: "running dbt build" in log.read_text(),  # dbt runs in the run's process
        timeout=180,
    )
    started = [command_line(pid) for pid, _ in descendants(proc.pid)]
    assert not [c for c in started if Path(c.split(" ")[0]).name == "dbt"], started
    assert _stop_and_check(proc, signal.SIGTERM, log, timeout=30) == 1


@pytest.mark.slow
def test_demo_stopped_during_its_pipeline_run_stops_everything(tmp_path):
    """SIGTERM while the demo's pipeline runs (Dagster takes signals over while it runs a job)
    stops the demo, not just the run: nothing it started is left and it exits 0."""
    broker, api = free_port(), free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "STRIPE_", "DAGSTER_"))
    }
    env.update(
        BILLING_DATA_DIR=str(tmp_path / "demo"),
        BILLING_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{broker}",
        BILLING_API_PORT=str(api),
        BILLING_DAGSTER_PORT=str(free_port()),
    )
    log = tmp_path / "demo.out"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [BILLING, "demo", "--events", "2000"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _up(
        proc,
        log,
        lambda: any(
            command_line(pid).rstrip().endswith("cli.main run") for pid, _ in descendants(proc.pid)
        ),
        timeout=180,
    )
    time.sleep(3)  # into the run
    assert _stop_and_check(proc, signal.SIGTERM, log, timeout=30) == 0
    assert "Ctrl-C stops everything" not in log.read_text()  # it stopped, it did not go on
    assert not port_open(broker) and not port_open(api)
