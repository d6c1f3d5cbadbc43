"""Child processes that never outlive the command that started them.

Every long-running child (the Tansu broker, localstripe, the API, the real-time consumer, the
Dagster UI) is started in its own session, so it is the leader of a process group holding
everything it starts in turn, and is stopped by signalling that whole group: SIGINT (or
SIGTERM) first, SIGKILL after a timeout. On Linux the child also asks the kernel for SIGTERM
should its parent die without stopping it (``kill -9`` of the parent), so nothing is left
holding a port. (The kernel sends it when the *thread* that started the child ends: start
long-running children from the main thread, as every caller does.)
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1
_libc = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def child_preexec() -> None:
    """In a child, before it runs: SIGINT handled by default again (a process started in the
    background of a non-interactive shell inherits it ignored) and SIGTERM on the parent's
    death. Async-signal-safe calls only."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop ``proc`` (a session leader) and every process of its group: ``sig``, then SIGKILL
    after ``timeout`` seconds. The group is signalled even when the leader already exited, for
    the grandchildren it may have left."""
    try:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
