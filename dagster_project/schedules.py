"""Schedules."""

from __future__ import annotations

import dagster as dg

from dagster_project.jobs import refresh_job

nightly_refresh = dg.ScheduleDefinition(
    job=refresh_job,
    cron_schedule="15 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild dimensions and republish nightly, so control-plane edits show up even "
    "on days without usage.",
)
