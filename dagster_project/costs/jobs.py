"""The cost-file job the sensor launches."""

import dagster as dg

from dagster_project.control_plane.assets import control_plane_snapshot
from dagster_project.costs.assets import land_cost_files
from dagster_project.jobs import IN_PROCESS
from dagster_project.partitions import billing_periods
from dagster_project.serving.assets import serving_snapshot
from dagster_project.transform.assets import warehouse_models

cost_files_job = dg.define_asset_job(
    "cost_files_job",
    selection=dg.AssetSelection.assets(
        control_plane_snapshot, land_cost_files, warehouse_models, serving_snapshot
    ),
    partitions_def=billing_periods,
    description="Land new cost files, rebuild the warehouse models (the cost and allocation "
    "models whole, the usage models of the run's billing period) and publish the serving "
    "snapshot.",
    config=IN_PROCESS,
    tags={"billing/warehouse-writer": "true"},
)
