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
