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
  Each deduplicated event once per meter whose event type it carries, with the meter's value:
  1 for `count`, the exact decimal for `sum` / `max` / `latest`, the text value for
  `unique_count`, and the meter's group-by key.
-#}
with

events as (

    select * from {{ ref('int_usage_events_deduplicated') }}
    where {{ usage_window_filter('period_start', 'landing_batch_id') }}

),

meters as (

    select * from {{ ref('stg_control_plane__meters') }}

),

metered as (

    select
        events.tenant_id,
        meters.meter_key,
        meters.aggregation,
        events.event_source,
        events.event_id,
        events.event_at,
        events.usage_date,
        events.period_start,
        case
            when meters.aggregation = 'count' then cast(1 as {{ quantity_type() }})
            when meters.aggregation in ('sum', 'max', 'latest')
                then cast({{ json_get_text('events.event_data', 'meters.value_property') }} as {{ quantity_type() }})
        end as quantity,
        case
            when meters.aggregation = 'unique_count'
                then {{ json_get_text('events.event_data', 'meters.value_property') }}
        end as unique_value,
        case
            when meters.group_by_json is not null and meters.group_by_json <> '[]'
                then {{ json_group_key('events.event_data', 'meters.group_by_json') }}
            else ''
        end as group_key,
        events.is_late,
        events.landing_batch_id,
        events.kafka_partition,
        events.kafka_offset

    from events
    inner join meters
        on meters.event_type = events.event_type
        -- an archived meter counts what happened before it was archived
        and (meters.archived_at is null or events.event_at < meters.archived_at)

),

final as (

    select * from metered

)

select * from final
