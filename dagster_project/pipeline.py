"""``billing run``: the whole pipeline once, in this process, recorded in the Dagster instance.

The same jobs the sensors and schedules launch, in order: land (ingest_job) -> rebuild, in one run
over their range, the billing periods with new events and the periods still open
(billing_period_job), which publishes a serving snapshot at its end -> with Stripe configured,
collect the finalized invoices (collect_payments_job).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime

import dagster as dg

from adapters.warehouse.connection import Warehouse
from billing.rules.events import utc_now
from billing.rules.periods import period_start, periods_between
from billing.settings import Settings
from dagster_project.partitions import billing_periods, period_key
from ingestion.landing_store import pending_periods

log = logging.getLogger(__name__)

RESOURCE_FIELDS = (
    "data_dir",
    "warehouse_url",
    "control_db_url",
    "kafka_bootstrap_servers",
    "usage_topic",
    "landing_consumer_name",
    "landing_batch_size",
    "grace_period_hours",
    "stripe_api_base",
    "payment_max_attempts",
    "payment_retry_backoff_hours",
)


@dataclass
class JobOutcome:
    job: str
    run_id: str
    success: bool
    error: str | None = None


@dataclass
class PipelineOutcome:
    runs: list[JobOutcome] = field(default_factory=list)
    landing: dict = field(default_factory=dict)
    cost_files: dict = field(default_factory=dict)  # file name -> id, status, rows
    pending_periods: list[str] = field(default_factory=list)  # with newly landed events
    built_periods: list[str] = field(default_factory=list)  # pending + open ones

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)


def billing_run_config(settings: Settings) -> dict:
    """Resource config that pins a run to these settings (and not the environment's)."""
    config = {}
    for name in RESOURCE_FIELDS:
        value = getattr(settings, name)
        if name == "data_dir":
            value = str(settings.data_path)
        elif name == "warehouse_url":
            value = settings.resolved_warehouse_url
        elif name == "control_db_url":
            value = settings.resolved_control_db_url
        if value not in ("", None):
            config[name] = value
    return {
        "resources": {"billing": {"config": config}},
        # Dagster's step events on the console: WARNING unless BILLING_LOG_LEVEL says otherwise
        # (`billing --verbose`); the run's event log keeps them all.
        "loggers": {
            "console": {"config": {"log_level": os.environ.get("BILLING_LOG_LEVEL", "WARNING")}}
        },
    }


def _error_text(result: dg.ExecuteInProcessResult) -> str:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while (
                error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name
            ):
                error = error.cause
            messages.append(f"{event.step_key}: {error.message.strip()}")
    return "; ".join(messages) or "the run failed"


def _execute(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    settings: Settings,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
) -> tuple[JobOutcome, dg.ExecuteInProcessResult]:
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=billing_run_config(settings),
        instance=instance,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=False,
    )
    outcome = JobOutcome(
        job_name, result.run_id, result.success, None if result.success else _error_text(result)
    )
    return outcome, result


def open_periods(con, now: datetime) -> list[date]:
    """Every billing period not closed yet, from the first with usage or a subscription up
    to the current one (finalization closes periods once their grace has passed)."""
    current = period_start(now)
    closed = {r[0] for r in con.fetchall("select period_start from raw.closed_billing_periods")}
    starts = [
        r[0] for r in con.fetchall("select min(period_start) from raw.usage_period_watermarks")
    ]
    if con.table_exists("raw", "control_subscriptions"):
        first = con.fetchone("select min(started_at) from raw.control_subscriptions")
        if first and first[0] is not None:
            starts.append(period_start(first[0]))
    earliest = min((s for s in starts if s is not None), default=current)
    earliest = min(earliest, current)
    return sorted(
        {p for p in periods_between(earliest, current) if p not in closed}
        | set(periods_to_reissue(con))
    )


def periods_to_reissue(con) -> list[date]:
    """Periods with a voided invoice and no finalized replacement yet."""
    if not con.table_exists("raw", "control_invoice_voids"):
        return []
    rows = con.fetchall(
        "select distinct v.period_start from raw.control_invoice_voids v "
        "where not exists (select 1 from raw.finalized_invoices f "
        "  where f.subscription_id = v.subscription_id and f.period_start = v.period_start "
        "  and f.invoice_id not in (select invoice_id from raw.control_invoice_voids))"
    )
    return [r[0] for r in rows]


def run_pipeline(
    settings: Settings,
    instance: dg.DagsterInstance,
    defs: dg.Definitions | None = None,
    now: datetime | None = None,
) -> PipelineOutcome:
    if defs is None:
        from dagster_project.definitions import defs as loaded

        defs = loaded
    outcome = PipelineOutcome()
    ingest, result = _execute(defs, "ingest_job", instance, settings)
    outcome.runs.append(ingest)
    if not ingest.success:
        return outcome
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization and materialization.asset_key.path == ["landing", "usage_events"]:
            outcome.landing = {k: v.value for k, v in materialization.metadata.items()}
        if materialization and materialization.asset_key.path == ["cost_files", "cost_files"]:
            files = materialization.metadata.get("files")
            outcome.cost_files = files.value if files is not None else {}
    # Everything landed and not yet built (including periods whose earlier build failed), and
    # the periods still open (subscriptions and plans change them too).
    with Warehouse(settings).connection() as con:
        pending = sorted(pending_periods(con))
        to_build = sorted(set(pending) | set(open_periods(con, now or utc_now())))
    first = date.fromisoformat(billing_periods.start.strftime("%Y-%m-%d"))
    to_build = [p for p in to_build if p >= first]
    outcome.pending_periods = [period_key(p) for p in pending if p >= first]
    start, end = period_key(to_build[0]), period_key(to_build[-1])
    last = billing_periods.get_last_partition_key()
    end = min(end, last) if last else end
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    build, _ = _execute(defs, "billing_period_job", instance, settings, tags=tags)
    outcome.runs.append(build)
    if build.success:
        outcome.built_periods = [period_key(p) for p in to_build]
        if settings.stripe_enabled:  # collect what the build finalized (and due retries)
            collect, _ = _execute(defs, "collect_payments_job", instance, settings)
            outcome.runs.append(collect)
    return outcome
