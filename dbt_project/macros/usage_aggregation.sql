{#-
  A meter's quantity over the rows of one group, by its aggregation:
  count -> number of events, sum / max -> of the values, unique_count -> distinct values,
  latest -> the value of the last event by event time (ties: landing order).
  `aggregation` must be a grouping column.
-#}
{% macro usage_quantity() -%}
    cast(
        case aggregation
            when 'count' then count(*)
            when 'sum' then sum(quantity)
            when 'max' then max(quantity)
            when 'unique_count' then count(distinct unique_value)
            when 'latest' then {{ last_value_by(
                'quantity',
                ['event_at', 'landing_batch_id', 'kafka_partition', 'kafka_offset'],
                "aggregation = 'latest'"
            ) }}
        end
        as {{ quantity_type() }}
    )
{%- endmacro %}
