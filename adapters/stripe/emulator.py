"""localstripe (a stateful Stripe emulator that sends signed webhooks) as a subprocess, for
the demo and the tests. Its store stays in memory: the on-disk pickle it writes after every
request (a fixed path under /tmp, shared by every instance) is switched off."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from adapters.processes import child_preexec, free_port, stop_group

LAUNCHER = (
    "import sys, localstripe.resources as r\n"
    "r.Store.dump_to_disk = lambda self: None\n"
    "from localstripe.server import start\n"
    "sys.argv = ['localstripe', '--port', sys.argv[1], '--from-scratch']\n"
    "start()\n"
)

# Test cards: attach and charge fine / attach fine, every charge declined.
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"


class LocalStripe:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc = proc
        self.port = port
        self.api_base = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, port: int | None = None, log_path: Path | None = None) -> LocalStripe:
        port = port or free_port()
        out = log_path.open("ab") if log_path else subprocess.DEVNULL
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=child_preexec,  # noqa: PLW1509 - async-signal-safe calls only
        )
        if log_path:
            out.close()
        running = cls(proc, port)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"localstripe exited with code {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    running.stop()
                    raise RuntimeError("localstripe did not start within 30 s") from None
                time.sleep(0.1)
        return running

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        response = httpx.post(
            f"{self.api_base}/_config/webhooks/{name}", data={"url": url, "secret": secret}
        )
        response.raise_for_status()

    def flush(self) -> None:
        httpx.delete(f"{self.api_base}/_config/data").raise_for_status()

    def stop(self) -> None:
        stop_group(self.proc, signal.SIGTERM, 10)

    def __enter__(self) -> LocalStripe:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
