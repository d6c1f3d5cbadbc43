{{ billing_period_config() }}

{#-
  Partial aggregates per tenant, meter, UTC day and group-by key: what every aggregation needs
  to be rolled up to a day, a billing period or a group without reading events again. Sums,
  maxima and counts combine; `latest` keeps its value with the event order that ranks it;
  `unique_count` meters keep one row per distinct value (distinct counts do not add up).
  Incremental by billing period: whole periods are rebuilt (see usage_window_filter).
-#}
with

metered as (

    select * from {{ ref('int_usage_events_metered') }}
    where {{ usage_window_filter('period_start') }}

),

{%- set latest_order = ['event_at', 'landing_batch_id', 'kafka_partition', 'kafka_offset'] %}
{#- The grain: one row per these columns. -#}
{%- set grain = ['tenant_id', 'meter_key', 'aggregation', 'usage_date', 'period_start',
                 'group_key', 'unique_value'] %}

partials as (

    select
        {%- for column in grain %}
        {{ column }},
        {%- endfor %}
        count(*) as event_count,
        sum(case when is_late then 1 else 0 end) as late_event_count,
        sum(quantity) as sum_quantity,
        max(quantity) as max_quantity,
        {{ last_row_aggregate('latest', ['quantity'] + latest_order, latest_order,
                              "aggregation = 'latest'") }},
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        max(landing_batch_id) as last_landing_batch_id

    from metered
    group by {{ grain | join(', ') }}

),

final as (

    select
        {%- for column in grain %}
        {{ column }},
        {%- endfor %}
        event_count,
        late_event_count,
        sum_quantity,
        max_quantity,
        {{- last_row_columns('latest', ['quantity'] + latest_order) }},
        first_event_at,
        last_event_at,
        last_landing_batch_id

    from partials

)

select * from final
