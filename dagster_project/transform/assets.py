"""dbt models as Dagster assets, split by selector.

* ``billing_period_models`` (tag ``billing_period``): the large incremental usage models,
  partitioned by billing period; the partition window goes to dbt as ``period_start`` /
  ``period_end`` vars and a single run covers a whole range.
* ``warehouse_models``: everything else (staging views, dimensions), unpartitioned.

dbt tests become asset checks; they are ``severity: error``, so a failing one fails the run and
nothing downstream (the serving snapshot, later invoicing and payment collection) proceeds.
"""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dagster_project.partitions import billing_periods, periods_in_window
from dagster_project.resources import BillingSettings
from dagster_project.transform.project import dbt_project
from ingestion.landing import mark_period_built, period_build_watermark
from ingestion.warehouse import Warehouse

BILLING_PERIOD_SELECTOR = "tag:billing_period"
INVOICE_SELECTOR = "tag:invoices"
COSTS_SELECTOR = "tag:costs"
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
                ]
            )
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        return dbt_resource_props["schema"]


translator = BillingDbtTranslator()


def _dbt_env(billing: BillingSettings) -> None:
    # profiles.yml reads the target from these; the dbt subprocess inherits them.
    os.environ.update(billing.get().dbt_env())


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=BILLING_PERIOD_SELECTOR,
    partitions_def=billing_periods,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="billing_period_models",
)
def billing_period_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingSettings
):
    """Rebuild whole billing periods of the usage models for the partition window."""
    settings = billing.get()
    _dbt_env(billing)
    window = context.partition_time_window
    periods = periods_in_window(window)
    # What is landed now is what this build will include; record it only if dbt succeeds.
    with Warehouse(settings).connection() as con:
        watermarks = {p: period_build_watermark(con, p) for p in periods}
    dbt_vars = {
        "period_start": window.start.strftime("%Y-%m-%d"),
        "period_end": window.end.strftime("%Y-%m-%d"),
    }
    yield from dbt.cli(
        ["build", *BUILD_FLAGS, "--vars", json.dumps(dbt_vars)], context=context
    ).stream()
    with Warehouse(settings).connection() as con:
        for period, watermark in watermarks.items():
            if watermark is not None:
                mark_period_built(con, period, watermark)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    exclude=f"{BILLING_PERIOD_SELECTOR} {INVOICE_SELECTOR} {COSTS_SELECTOR}",
    dagster_dbt_translator=translator,
    name="warehouse_models",
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingSettings
):
    """Seeds, snapshots of the control plane, staging views and dimensions."""
    _dbt_env(billing)
    yield from dbt.cli(["build", *BUILD_FLAGS], context=context).stream()


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
    _dbt_env(billing)
    yield from dbt.cli(["build", *BUILD_FLAGS], context=context).stream()


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    select=COSTS_SELECTOR,
    dagster_dbt_translator=translator,
    name="cost_models",
)
def cost_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, billing: BillingSettings):
    """Cloud costs: staging per provider, the unified FOCUS model, daily facts, allocation to
    cost centers (its invariants are dbt tests) and coverage."""
    _dbt_env(billing)
    yield from dbt.cli(["build", *BUILD_FLAGS], context=context).stream()


def model_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, by name."""
    for assets_def in (billing_period_models, warehouse_models, invoice_models, cost_models):
        for key in assets_def.keys:
            if key.path[-1] == model:
                return key
    raise KeyError(model)
