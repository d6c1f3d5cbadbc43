"""dbt models as Dagster assets: two dbt builds per billing run.

* ``warehouse_models`` (everything but tag ``invoices``): seeds, control-plane snapshots,
  staging views, the usage, rating and draft invoice models, and the cloud cost models, in one
  dbt process. The asset is partitioned by billing period: the large incremental usage models
  (tag ``billing_period``) rebuild the periods of the partition window, which reaches dbt as
  ``BILLING_DBT_PERIOD_START`` / ``_END`` (a single run covers a whole range); every other
  model is rebuilt whole, whatever the window.
* ``invoice_models`` (tag ``invoices``): the invoice marts, built after finalization.

Each dbt invocation costs time before any model runs (loading the parse, opening the
warehouse; a dbt process also imports dbt, which is why the builds run in this process), so
the models are grouped by when they must run, not by subject; their Dagster groups still
follow the dbt schemas.

dbt tests become asset checks; they are ``severity: error``, so a failing one fails the run and
nothing downstream (the serving snapshot, later invoicing and payment collection) proceeds.
"""

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from adapters.warehouse.connection import Warehouse
from dagster_project.partitions import billing_periods, periods_in_window
from dagster_project.resources import BillingSettings
from dagster_project.transform import in_process
from dagster_project.transform.in_process import PARTIAL_PARSE, PERIOD_END_ENV, PERIOD_START_ENV
from dagster_project.transform.project import dbt_project
from ingestion.landing_store import mark_period_built, period_build_watermark

INVOICE_SELECTOR = "tag:invoices"
# dbt unit tests pin business rules on hand-made inputs; the test suite runs them, production
# builds do not (as dbt recommends).
BUILD_FLAGS = ["--exclude-resource-type", "unit_test"]


class BillingDbtTranslator(DagsterDbtTranslator):
    """Models are keyed ``<schema>/<model>`` and grouped by layer; sources keep dbt's
    ``<source>/<table>`` keys, which the landing and snapshot assets produce.

    The finalized invoices are both read by the drafts (earlier periods) and written after
    them (this period), so their dbt source gets its own key (``invoicing_store/...``) and the
    invoice marts depend on the finalization asset explicitly: the graph stays acyclic and
    the marts are built after finalization."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == "invoicing":
                return dg.AssetKey(["invoicing_store", dbt_resource_props["name"]])
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_asset_spec(self, manifest, unique_id, project):
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = manifest["nodes"].get(unique_id, {})
        if "invoices" in props.get("tags", []):
            spec = spec.merge_attributes(
                deps=[
                    dg.AssetKey(["invoicing", "finalized_invoices"]),
                    dg.AssetKey(["invoicing", "finalized_invoice_lines"]),
                    dg.AssetKey(["invoicing", "finalized_invoice_documents"]),
                ]
            )
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        return dbt_resource_props["schema"]


translator = BillingDbtTranslator()


@contextlib.contextmanager
def _dbt_output(settings):
    """dagster-dbt echoes every dbt event to stdout: on the console only at
    ``BILLING_LOG_LEVEL=INFO`` (``billing --verbose``), otherwise in ``<data dir>/logs/dbt.log``."""
    if os.environ.get("BILLING_LOG_LEVEL", "WARNING").upper() in ("DEBUG", "INFO"):
        yield
        return
    logs = settings.data_path / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "dbt.log").open("a") as out, contextlib.redirect_stdout(out):
        yield


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    billing: BillingSettings,
    args: list,
    env: Mapping[str, str] | None = None,
) -> Iterator:
    """``dbt build`` with ``args``, its artifacts under ``<data dir>/dbt/``.

    profiles.yml reads the target from the environment, where dbt finds it (run in this
    process, ``in_process``, or as a subprocess with ``BILLING_DBT_IN_PROCESS=false``). dbt
    parses the whole project again whenever its profile (this warehouse) or its ``--vars``
    differ from the last parse it finds (a changed environment variable re-parses only the
    files that read it; ``env`` is given to this invocation alone), so each warehouse keeps
    the last parse of each distinct command
    (``<data dir>/dbt/<command hash>/partial_parse.msgpack``; dagster-dbt copies it into the
    invocation's own target directory) and the next identical build parses only what changed.
    An invocation's directory is removed once it succeeded; a failed one's (dbt.log,
    run_results.json) is kept."""
    settings = billing.get()
    os.environ.update(settings.dbt_env())
    command = hashlib.sha256(json.dumps(args).encode()).hexdigest()[:12]
    parse_cache = settings.data_path / "dbt" / command
    parse_cache.mkdir(parents=True, exist_ok=True)
    os.environ["DBT_TARGET_PATH"] = str(parse_cache)
    runner = in_process.invocations() if settings.dbt_in_process else contextlib.nullcontext()
    with in_process.environment(env or {}), runner:
        invocation = dbt.cli(args, context=context)  # dbt runs (or its process starts) here
    with _dbt_output(settings):
        yield from invocation.stream()
    parsed = invocation.target_path / PARTIAL_PARSE
    if parsed.exists():
        staged = parse_cache / f"{PARTIAL_PARSE}.{invocation.target_path.name}"
        shutil.copyfile(parsed, staged)
        os.replace(staged, parse_cache / PARTIAL_PARSE)
    shutil.rmtree(invocation.target_path, ignore_errors=True)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=INVOICE_SELECTOR,
    partitions_def=billing_periods,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="warehouse_models",
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingSettings
):
    """Seeds, control-plane snapshots, staging, the usage, rating and draft invoice models of
    the partition window's billing periods, and the cloud cost models (allocation included)."""
    settings = billing.get()
    window = context.partition_time_window
    periods = periods_in_window(window)
    # What is landed now is what this build will include; record it only if dbt succeeds.
    with Warehouse(settings).connection() as con:
        watermarks = {p: period_build_watermark(con, p) for p in periods}
    # The window as environment variables, not --vars: new vars make dbt parse the whole
    # project again, a changed variable only the models that read it (usage_window_filter).
    window_env = {
        PERIOD_START_ENV: window.start.strftime("%Y-%m-%d"),
        PERIOD_END_ENV: window.end.strftime("%Y-%m-%d"),
    }
    yield from _dbt_build(context, dbt, billing, ["build", *BUILD_FLAGS], env=window_env)
    with Warehouse(settings).connection() as con:
        for period, watermark in watermarks.items():
            if watermark is not None:
                mark_period_built(con, period, watermark)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=INVOICE_SELECTOR,
    dagster_dbt_translator=translator,
    name="invoice_models",
)
def invoice_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingSettings
):
    """The invoice marts: finalized invoices as finalized, drafts for the rest."""
    yield from _dbt_build(context, dbt, billing, ["build", *BUILD_FLAGS])


DBT_ASSETS = (warehouse_models, invoice_models)


def model_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, by name."""
    for assets_def in DBT_ASSETS:
        for key in assets_def.keys:
            if key.path[-1] == model:
                return key
    raise KeyError(model)
