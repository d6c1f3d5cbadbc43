"""Watch the cost-files directory and land each new file once.

The sensor never opens the warehouse: it hashes the files (the cursor remembers each name's
size, modification time and hash, so unchanged files are not read again) and requests one run
per new content, with ``run_key`` = the content hash, so a file dropped twice lands once.
"""

import json

import dagster as dg

from dagster_project.costs.jobs import cost_files_job
from dagster_project.jobs import IN_PROCESS
from dagster_project.partitions import billing_periods
from dagster_project.resources import BillingSettings
from dagster_project.triggers import running_sensor
from ingestion.costs.landing import file_hash, list_cost_files


def scan(directory, cursor: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The new cursor and the (name, hash) of files whose content the cursor had not seen."""
    known = cursor.get("files", {})
    files, new = {}, []
    for path in list_cost_files(directory):
        stat = path.stat()
        cached = known.get(path.name)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            digest = cached[2]
        else:
            digest = file_hash(path)
        files[path.name] = [stat.st_size, stat.st_mtime_ns, digest]
        if cached is None or cached[2] != digest:
            new.append((path.name, digest))
    return {"files": files}, new


def cost_file_run_request(name: str, digest: str) -> dg.RunRequest:
    """The run of one new file: the warehouse models are partitioned by billing period, and
    the run takes the current one (cost models are rebuilt whole in any partition)."""
    return dg.RunRequest(
        run_key=f"cost-file-{digest}",
        partition_key=billing_periods.get_last_partition_key(),
        run_config={
            **IN_PROCESS,
            "ops": {"land_cost_files": {"config": {"files": [name]}}},
        },
        tags={"billing/cost-file": name},
    )


@running_sensor(
    "Requests a landing run for each new cost file in the cost-files directory.",
    every_seconds=30,
    job=cost_files_job,
)
def cost_files_sensor(context: dg.SensorEvaluationContext, billing: BillingSettings):
    settings = billing.get()
    cursor = json.loads(context.cursor) if context.cursor else {}
    new_cursor, new = scan(settings.cost_files_path, cursor)
    context.update_cursor(json.dumps(new_cursor))
    if not new:
        return dg.SkipReason(f"no new cost files in {settings.cost_files_path}")
    return [cost_file_run_request(name, digest) for name, digest in new]
