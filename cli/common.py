"""What every ``billing`` command shares: the settings, a quiet environment, and stopping on
SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from billing.settings import Settings, SettingsError, get_settings

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("billing")


def load_settings() -> Settings:
    try:
        settings = get_settings()
    except (SettingsError, ValueError) as exc:
        sys.exit(f"billing: invalid settings: {exc}")
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return settings


def configure_logging(verbose: bool = False) -> str:
    """The console shows what the command prints and warnings; library INFO logs (alembic's
    migrations, every Stripe and httpx request, Dagster's step events) only with ``--verbose``
    or ``BILLING_LOG_LEVEL=INFO``. The level is exported so Dagster's console logger and the
    processes a command starts use it too. Returns it."""
    level = os.environ.get("BILLING_LOG_LEVEL") or ("INFO" if verbose else "WARNING")
    if verbose:
        level = "INFO" if level.upper() not in ("DEBUG", "INFO") else level
    os.environ["BILLING_LOG_LEVEL"] = level.upper()
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:  # also records of loggers with their own level
        handler.setLevel(level.upper())
    return level.upper()


def quiet_environment() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


# ----------------------------------------------------------------------------- stopping
# Commands that run until stopped: SIGINT or SIGTERM stops them and everything they started,
# and they exit 0. ``run`` stopped that way exits 1 (the run did not finish; the next one
# resumes: landing, finalization and collection are transactional).
SERVICES = frozenset({"broker", "serve", "realtime", "demo"})


def _sigterm_as_ctrl_c(_signum, frame) -> None:
    """SIGTERM (systemd, Docker, Kubernetes) is handled exactly as Ctrl-C: by whatever handles
    SIGINT at that moment (a KeyboardInterrupt by default, a stop flag where a command set one,
    nothing while a command cleans up with SIGINT ignored)."""
    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.SIG_IGN:
        return
    if callable(handler):
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def handle_stop_signals() -> None:
    """Ctrl-C raises KeyboardInterrupt even when this process was started with SIGINT ignored
    (a CI job, ``nohup ... &``), and SIGTERM does what Ctrl-C does."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
