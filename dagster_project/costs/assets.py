"""Land cloud cost files (FOCUS, AWS CUR, Azure, GCP) from the cost-files directory.

Asset keys match the dbt source they feed (``cost_files/...``), so the graph shows one lineage
from the directory to the cost marts.
"""

import dagster as dg

from dagster_project.resources import BillingSettings
from ingestion.costs.landing import CostFileLander

COST_FILES = dg.AssetKey(["cost_files", "cost_files"])
COST_FILE_ROWS = dg.AssetKey(["cost_files", "cost_file_rows"])


class CostFilesConfig(dg.Config):
    files: list[str] = []
    """Names in the cost-files directory to land (again); empty: every file not landed yet."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            COST_FILES,
            description="One status row per cost file (raw.cost_files): format, billing "
            "period, row count, totals, error, superseded_by.",
            group_name="cost_files",
            kinds={"csv", "parquet"},
        ),
        dg.AssetSpec(
            COST_FILE_ROWS,
            description="The rows of every landed cost file, normalised (raw.cost_file_rows).",
            group_name="cost_files",
        ),
    ],
    name="land_cost_files",
)
def land_cost_files(
    context: dg.AssetExecutionContext, config: CostFilesConfig, billing: BillingSettings
):
    """Each file's rows and status in one warehouse transaction; a broken file lands nothing
    but its error."""
    results = CostFileLander(billing.get()).land_pending(config.files or None)
    for result in results:
        context.log.info(
            f"{result.file_name} ({result.file_id[:12]}): {result.status}, "
            f"{result.row_count} rows{'; ' + result.error if result.error else ''}"
        )
    summary = {
        r.file_name: {"file_id": r.file_id, "status": r.status, "rows": r.row_count}
        for r in results
    }
    yield dg.MaterializeResult(
        asset_key=COST_FILES,
        metadata={
            "files": dg.MetadataValue.json(summary),
            "landed": dg.MetadataValue.int(sum(r.status != "failed" for r in results)),
            "failed": dg.MetadataValue.int(sum(r.status == "failed" for r in results)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=COST_FILE_ROWS,
        metadata={"rows": dg.MetadataValue.int(sum(r.row_count for r in results))},
    )
