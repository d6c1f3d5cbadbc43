"""Cloud cost files: upload one, list them all with status, row counts and errors.

An upload is checked as landing would check it (format, every row; a bad one is refused with
the line and the column as the file names them) and stored in the cost-files directory
(`BILLING_COST_FILES_DIR`), where the sensor (or `billing run`) lands it; the API never writes
the warehouse. Content already uploaded is not stored twice: the answer (200) is the earlier
upload's id, name and status as the pipeline reported it. The listing joins what the pipeline
reported (`fct_cost_files` in the serving snapshot) with the files of the directory not landed
yet (`pending`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

from fastapi import APIRouter, Response, UploadFile

from adapters.warehouse.serving import MissingTable, NoSnapshot, ServingReader
from api.deps import AdminDep, ReaderDep, SettingsDep
from api.schemas.costs import CostFilePublic, CostFilesPublic
from billing.errors import Invalid
from ingestion.costs.formats import CostFileError, check_file
from ingestion.costs.landing import SUFFIXES, file_hash, list_cost_files

router = APIRouter(prefix="/cost-ingestion", tags=["cloud costs"])

MAX_UPLOAD_BYTES = 2 * 1024**3
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def _cached_hash(path: Path) -> str:
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


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    if not base or not base.lower().endswith(SUFFIXES):
        raise Invalid(
            f"the file name must end with one of {', '.join(SUFFIXES)} (got {name!r})", "file"
        )
    return base[:200]


def _reported(
    reader: ServingReader, file_id: str | None = None
) -> tuple[dict[str, CostFilePublic], str | None]:
    """What the pipeline reported of each landed file (or only of ``file_id``), by id, and
    the serving snapshot it is read from."""
    snapshot = None
    try:
        rows, info = reader.query(
            "select * from {fct_cost_files}"
            + (" where file_id = :file_id" if file_id else "")
            + " order by landed_seq",
            {"file_id": file_id} if file_id else None,
        )
        snapshot = info.name
    except (NoSnapshot, MissingTable):
        rows = []
    reported = {
        row["file_id"]: CostFilePublic(
            file_id=row["file_id"],
            file_name=row["file_name"],
            status=row["status"],
            format=row["source_format"],
            provider=row["provider_name"],
            row_count=row["row_count"],
            error=row["error_message"],
            billing_period_start=row["billing_period_start"],
            billing_period_end=row["billing_period_end"],
            currencies=row["billing_currencies"],
            billed_cost=row["billed_cost_total"],
            effective_cost=row["effective_cost_total"],
            landed_at=row["landed_at"],
            superseded_by=row["superseded_by_file_id"],
        )
        for row in rows
    }
    return reported, snapshot


@router.post(
    "/files",
    response_model=CostFilePublic,
    status_code=202,
    responses={
        200: {
            "model": CostFilePublic,
            "description": "The same content was uploaded before: that upload, as it stands "
            "(`duplicate_of` names it).",
        }
    },
)
def upload_cost_file(
    file: UploadFile,
    settings: SettingsDep,
    reader: ReaderDep,
    _admin: AdminDep,
    response: Response,
):
    """Check and store a cost file for landing; 202 with its id (the SHA-256 of its content).
    A file landing would refuse is refused (422, with the line and column); content uploaded
    before answers 200 with that upload's id, name and status."""
    name = _safe_name(file.filename or "")
    directory = settings.cost_files_path
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    # The temporary name keeps the suffix (it decides how the file is read) and is hidden from
    # the sensor (a dot-file) until the check has passed.
    handle, temp = tempfile.mkstemp(prefix=".upload-", suffix=f"-{name}", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise Invalid("the file is larger than 2 GiB", "file")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid("the file is empty", "file")
        file_id = digest.hexdigest()
        # The same content landed (even if its file has left the directory) or waiting.
        reported = _reported(reader, file_id)[0].get(file_id)
        waiting = next((p for p in list_cost_files(directory) if _cached_hash(p) == file_id), None)
        if reported is not None or waiting is not None:
            os.unlink(temp)
            response.status_code = 200
            if reported is None:
                reported = CostFilePublic(file_id=file_id, file_name=waiting.name, status="pending")
            return reported.model_copy(update={"duplicate_of": reported.file_name})
        try:
            check_file(Path(temp))
        except CostFileError as exc:
            raise Invalid(str(exc), "file") from None
        target = directory / name
        if target.exists():
            target = directory / f"{file_id[:12]}-{name}"
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return CostFilePublic(file_id=file_id, file_name=target.name, status="pending")


@router.get("/files", response_model=CostFilesPublic)
def list_cost_files_status(settings: SettingsDep, reader: ReaderDep, _admin: AdminDep):
    """Every cost file: what the pipeline landed (status, rows, errors) and what waits."""
    landed, snapshot = _reported(reader)
    pending = []
    for path in list_cost_files(settings.cost_files_path):
        digest = _cached_hash(path)
        if digest not in landed and all(p.file_id != digest for p in pending):
            pending.append(CostFilePublic(file_id=digest, file_name=path.name, status="pending"))
    data = pending + list(reversed(landed.values()))
    return CostFilesPublic(data=data, count=len(data), snapshot=snapshot)
