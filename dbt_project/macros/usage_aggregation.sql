{#-
  Roll daily partials (int_usage_daily_partials) up to a coarser grain, applying each meter's
  aggregation: count -> number of events, sum / max -> of the values, latest -> the value of the
  last event by event time (ties: landing order), unique_count -> distinct values.
  `aggregation` must be a grouping column.
-#}
{% macro rolled_up_quantity() -%}
    cast(
        case aggregation
            when 'count' then sum(event_count)
            when 'sum' then sum(sum_quantity)
            when 'max' then max(max_quantity)
            when 'latest' then {{ last_value_by(
                'latest_quantity',
                ['latest_event_at', 'latest_landing_batch_id', 'latest_kafka_partition',
                 'latest_kafka_offset'],
                "aggregation = 'latest'"
            ) }}
            when 'unique_count' then count(distinct unique_value)
        end
        as {{ quantity_type() }}
    )
{%- endmacro %}

{#-
  The body of a CTE rolling the `partials` CTE (daily partials) up to the grain of `columns`
  (which must include `aggregation`): the quantity by each meter's aggregation, and the event
  counts, event times and newest landing batch of the rows rolled up.
-#}
{% macro rolled_up_partials(columns) -%}
    select
        {{ columns | join(',\n        ') }},
        {{ rolled_up_quantity() }} as quantity,
        sum(event_count) as event_count,
        sum(late_event_count) as late_event_count,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        max(last_landing_batch_id) as last_landing_batch_id

    from partials
    group by {{ columns | join(', ') }}
{%- endmacro %}

{#-
  The import CTEs of the usage marts, each followed by a comma: `partials`, the daily partials
  of the build window, and `meters`, each meter's unit.
-#}
{% macro usage_mart_inputs() -%}
partials as (

    select * from {{ ref('int_usage_daily_partials') }}
    where {{ usage_window_filter('period_start') }}

),

meters as (

    select meter_key, unit from {{ ref('stg_control_plane__meters') }}

),
{%- endmacro %}
