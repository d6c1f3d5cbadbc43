"""Schedules."""

from datetime import timedelta

import dagster as dg

from billing.rules.periods import period_start
from dagster_project.jobs import billing_period_job
from dagster_project.partitions import billing_periods, period_key
from dagster_project.triggers import running_schedule


@running_schedule(
    "Hourly: rebuild the current and the previous billing period, so control-plane "
    "changes (new subscriptions, plan changes, coupons) show up without new usage.",
    cron="5 * * * *",
    job=billing_period_job,
)
def open_periods_schedule(context: dg.ScheduleEvaluationContext):
    now = context.scheduled_execution_time.replace(tzinfo=None)
    current = period_start(now)
    previous = period_start(current - timedelta(days=1))
    stamp = now.strftime("%Y%m%dT%H")
    last = billing_periods.get_last_partition_key()
    for period in (previous, current):
        key = period_key(period)
        if last is None or key <= last:
            yield dg.RunRequest(run_key=f"open-{key}-{stamp}", partition_key=key)
