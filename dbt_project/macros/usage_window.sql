{#-
  The billing periods an incremental usage model rebuilds.

  * With vars `period_start` / `period_end`, or the environment variables
    BILLING_DBT_PERIOD_START / BILLING_DBT_PERIOD_END (Dagster passes the partition window so:
    a changed variable re-parses only the models that read it, new vars the whole project):
    exactly the periods in [start, end).
  * Otherwise, on an incremental run: every period that received events in a landing batch
    newer than the newest batch the model already holds.
  * Otherwise (first run, --full-refresh, or a model without a batch column): everything.

  Periods are always rebuilt whole: unique counts and latest values cannot be patched.
-#}
{% macro usage_window_filter(period_column='period_start', batch_column='last_landing_batch_id') -%}
    {%- set start = var('period_start', none) or env_var('BILLING_DBT_PERIOD_START', '') -%}
    {%- set end = var('period_end', none) or env_var('BILLING_DBT_PERIOD_END', '') -%}
    {%- if start and end -%}
        {{ period_column }} >= cast('{{ start }}' as date)
        and {{ period_column }} < cast('{{ end }}' as date)
    {%- elif is_incremental() and batch_column is not none -%}
        {{ period_column }} in (
            select period_start
            from {{ source('landing', 'usage_period_watermarks') }}
            where last_landing_batch_id > (
                select coalesce(max({{ batch_column }}), 0) from {{ this }}
            )
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}


{#-
  Pre-hook for incremental models whose output for a period can shrink to nothing (a period
  finalized, a subscription ended before it began): delete the whole build window first, so no
  stale row survives the delete+insert of only the periods present in the new batch.
-#}
{% macro delete_build_window(period_column='period_start') -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ usage_window_filter(period_column, none) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
