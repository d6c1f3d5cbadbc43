"""The processes a command started, read from /proc (Linux; no psutil in the venv)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

Proc = tuple[int, int]  # pid, start time (clock ticks since boot): a pid reused is not the same


def _stat(pid: int) -> tuple[int, int, str] | None:
    """Parent pid, start time and state of ``pid``, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), int(fields[19]), fields[0]


def descendants(pid: int) -> set[Proc]:
    """Every living process below ``pid`` (children, their children, ...)."""
    parents: dict[int, list[Proc]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[2] != "Z":
            parents.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: set[Proc] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def alive(procs: set[Proc]) -> set[Proc]:
    """Those of ``procs`` still running (not exited, not a zombie, pid not reused)."""
    living = set()
    for pid, started in procs:
        stat = _stat(pid)
        if stat is not None and stat[1] == started and stat[2] != "Z":
            living.add((pid, started))
    return living


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return "?"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
