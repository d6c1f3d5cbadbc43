"""The sensors and schedules of every domain start running with the deployment (an operator
can stop one in the UI); schedules read UTC."""

from __future__ import annotations

import dagster as dg


def running_sensor(description: str, every_seconds: int, job=None):
    """A sensor, on by default, evaluated at most every ``every_seconds``."""
    return dg.sensor(
        job=job,
        minimum_interval_seconds=every_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )


def running_schedule(description: str, cron: str, job):
    """A schedule on UTC, on by default."""
    return dg.schedule(
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
