{{ config(materialized='ephemeral') }}

{#-
  Each deduplicated event once per meter of its event type, with the meter's value: 1 for
  `count`, the exact decimal for `sum` / `max` / `latest`, the text for `unique_count`, and the
  meter's group-by key (`k=v|k=v`, empty when it has none). The event data is parsed once, with
  constant paths for every property any meter reads (see usage_meter_spec).
  An event is left out for the meters landing recorded it as not counted for (the property that
  meter reads is missing or unusable); it still counts for the other meters of its type.
-#}
{%- set spec = usage_meter_spec() -%}

with

events as (

    select * from {{ ref('int_usage_events_deduplicated') }}

),

meters as (

    select
        *,
        {% if spec.value_index -%}
        case meter_key
            {%- for key, position in spec.value_index.items() %}
            when '{{ key }}' then {{ position }}
            {%- endfor %}
        end
        {%- else -%}
        cast(null as integer)
        {%- endif %} as value_position

    from {{ ref('stg_control_plane__meters') }}

),

not_counted as (

    select event_source, event_id, period_start, meter_key
    from {{ ref('stg_landing__usage_not_counted') }}

),

extracted as (

    select
        events.*,
        {% if spec.properties -%}
        {{ json_get_texts('events.event_data', spec.properties) }}
        {%- else -%}
        cast(null as {{ dbt.type_string() }}[])
        {%- endif %} as property_values

    from events

),

metered as (

    select
        extracted.tenant_id,
        meters.meter_key,
        meters.aggregation,
        extracted.event_source,
        extracted.event_id,
        extracted.event_at,
        extracted.usage_date,
        extracted.period_start,
        case
            when meters.aggregation = 'count' then cast(1 as {{ quantity_type() }})
            when meters.aggregation in ('sum', 'max', 'latest')
                then cast(extracted.property_values[meters.value_position] as {{ quantity_type() }})
        end as quantity,
        case
            when meters.aggregation = 'unique_count'
                then extracted.property_values[meters.value_position]
        end as unique_value,
        {% if spec.group_by -%}
        case meters.meter_key
            {%- for key, props in spec.group_by.items() %}
            when '{{ key }}' then
                {%- for p in props %}
                '{{ p }}=' || coalesce(extracted.property_values[{{ spec.properties.index(p) + 1 }}], '')
                {{- " || '|' ||" if not loop.last }}
                {%- endfor %}
            {%- endfor %}
            else ''
        end
        {%- else -%}
        ''
        {%- endif %} as group_key,
        extracted.is_late,
        extracted.landing_batch_id,
        extracted.kafka_partition,
        extracted.kafka_offset

    from extracted
    inner join meters
        on meters.event_type = extracted.event_type
        -- an archived meter counts what happened before it was archived
        and (meters.archived_at is null or extracted.event_at < meters.archived_at)
    left join not_counted
        on {{ same_keys('not_counted', 'extracted', ['period_start', 'event_source', 'event_id']) }}
        and not_counted.meter_key = meters.meter_key
    where not_counted.meter_key is null

),

final as (

    select * from metered

)

select * from final
