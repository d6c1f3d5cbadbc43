"""Cost files uploaded through the API: named safely, spooled to a hidden temporary file while
hashed (the id is the SHA-256 of the content), checked as landing would check them, then
moved into the cost-files directory, where the sensor (or `billing run`) lands them. Content
uploaded before is not stored twice."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from billing.errors import Invalid
from ingestion.costs.formats import CostFileError, check_file
from ingestion.costs.landing import SUFFIXES, file_hash, list_cost_files

MAX_UPLOAD_BYTES = 2 * 1024**3
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def cached_hash(path: Path) -> str:
    """A file's content hash, remembered per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    digest = file_hash(path)
    with _hash_lock:
        if len(_hash_cache) > 10_000:
            _hash_cache.clear()
        _hash_cache[key] = digest
    return digest


def safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    if not base or not base.lower().endswith(SUFFIXES):
        raise Invalid(
            f"the file name must end with one of {', '.join(SUFFIXES)} (got {name!r})", "file"
        )
    return base[:200]


def waiting_file(directory: Path, file_id: str) -> Path | None:
    """The file of the directory, not landed yet, with this content."""
    return next((p for p in list_cost_files(directory) if cached_hash(p) == file_id), None)


def pending_files(directory: Path, landed: set[str] | dict) -> list[tuple[str, str]]:
    """(file id, file name) of the files waiting in the directory, once per content."""
    pending: list[tuple[str, str]] = []
    for path in list_cost_files(directory):
        digest = cached_hash(path)
        if digest not in landed and all(p[0] != digest for p in pending):
            pending.append((digest, path.name))
    return pending


@dataclass
class Spool:
    """An upload in its hidden temporary file: ``keep`` checks and stores it, ``discard``
    drops it."""

    directory: Path
    name: str
    temp: str
    file_id: str

    def discard(self) -> None:
        os.unlink(self.temp)

    def keep(self) -> Path:
        try:
            check_file(Path(self.temp))
        except CostFileError as exc:
            raise Invalid(str(exc), "file") from None
        target = self.directory / self.name
        if target.exists():
            target = self.directory / f"{self.file_id[:12]}-{self.name}"
        os.replace(self.temp, target)
        return target


@contextmanager
def spooled(directory: Path, filename: str, stream: BinaryIO) -> Iterator[Spool]:
    """Write an upload to a temporary file of the directory, hashing it (at most 2 GiB, not
    empty); whatever happens inside, a temporary file not kept or discarded is removed."""
    name = safe_name(filename)
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    # The temporary name keeps the suffix (it decides how the file is read) and is hidden from
    # the sensor (a dot-file) until the check has passed.
    handle, temp = tempfile.mkstemp(prefix=".upload-", suffix=f"-{name}", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise Invalid("the file is larger than 2 GiB", "file")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid("the file is empty", "file")
        yield Spool(directory, name, temp, digest.hexdigest())
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
