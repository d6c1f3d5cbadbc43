{{ config(materialized='ephemeral') }}

{#-
  One row per (source, id); the first landed copy wins. Landing already refuses duplicates
  across all time (primary key on source + id), so this step only guards the marts against raw
  rows ever loaded by other means. Partitioning by billing period too lets the build window's
  period filter reach the landed events before the window function runs.
-#}
with

events as (

    select * from {{ ref('stg_landing__usage_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by period_start, event_source, event_id
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
        is_late

    from ranked
    where copy_number = 1

)

select * from final
