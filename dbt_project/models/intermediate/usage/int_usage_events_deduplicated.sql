{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_start',
        tags=['billing_period'],
        on_schema_change='fail',
    )
}}

{#-
  One row per (source, id). Landing already refuses duplicates across all time; this step keeps
  the marts right even if raw rows were ever re-loaded by hand. The first landed copy wins.
  Incremental by billing period: whole periods are rebuilt (see usage_window_filter).
-#}
with

events as (

    select * from {{ ref('stg_landing__usage_events') }}
    where {{ usage_window_filter('period_start', 'landing_batch_id') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_source, event_id
            order by landing_batch_id, kafka_partition, kafka_offset
        ) as copy_number

    from events

),

final as (

    select
        event_source,
        event_id,
        event_type,
        tenant_id,
        event_at,
        usage_date,
        period_start,
        event_data,
        kafka_partition,
        kafka_offset,
        landing_batch_id,
        landed_at,
        is_late

    from ranked
    where copy_number = 1

)

select * from final
