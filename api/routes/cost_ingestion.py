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

from fastapi import APIRouter, Response, UploadFile

from adapters.warehouse.serving import MissingTable, NoSnapshot, ServingReader
from api.deps import AdminDep, ReaderDep, SettingsDep
from api.schemas.costs import CostFilePublic, CostFilesPublic
from api.serving import row_of
from ingestion.costs import uploads

router = APIRouter(prefix="/cost-ingestion", tags=["cloud costs"])

# CostFilePublic fields named otherwise in fct_cost_files.
REPORTED_COLUMNS = {
    "format": "source_format",
    "provider": "provider_name",
    "error": "error_message",
    "currencies": "billing_currencies",
    "billed_cost": "billed_cost_total",
    "effective_cost": "effective_cost_total",
    "superseded_by": "superseded_by_file_id",
}


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
        row["file_id"]: row_of(
            CostFilePublic,
            row,
            **REPORTED_COLUMNS,
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
    with uploads.spooled(settings.cost_files_path, file.filename or "", file.file) as spool:
        # The same content landed (even if its file has left the directory) or waiting.
        reported = _reported(reader, spool.file_id)[0].get(spool.file_id)
        waiting = uploads.waiting_file(spool.directory, spool.file_id)
        if reported is not None or waiting is not None:
            spool.discard()
            response.status_code = 200
            if reported is None:
                reported = CostFilePublic(
                    file_id=spool.file_id, file_name=waiting.name, status="pending"
                )
            return reported.model_copy(update={"duplicate_of": reported.file_name})
        target = spool.keep()
    return CostFilePublic(file_id=spool.file_id, file_name=target.name, status="pending")


@router.get("/files", response_model=CostFilesPublic)
def list_cost_files_status(settings: SettingsDep, reader: ReaderDep, _admin: AdminDep):
    """Every cost file: what the pipeline landed (status, rows, errors) and what waits."""
    landed, snapshot = _reported(reader)
    pending = [
        CostFilePublic(file_id=digest, file_name=name, status="pending")
        for digest, name in uploads.pending_files(settings.cost_files_path, landed)
    ]
    data = pending + list(reversed(landed.values()))
    return CostFilesPublic(data=data, count=len(data), snapshot=snapshot)
