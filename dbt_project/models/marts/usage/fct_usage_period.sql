{{ billing_period_config(contract=true) }}

{#- Usage per tenant, meter and billing period (UTC calendar month), each meter's aggregation
    applied over the whole period: a period's unique count is the number of distinct values in
    the period, not the sum of daily unique counts. -#}
with

{{ usage_mart_inputs() }}

per_period as (

    {{ rolled_up_partials(['tenant_id', 'meter_key', 'aggregation', 'period_start']) }}

),

final as (

    select
        cast(per_period.tenant_id as {{ dbt.type_string() }}) as tenant_id,
        cast(per_period.meter_key as {{ dbt.type_string() }}) as meter_key,
        cast(per_period.period_start as date) as period_start,
        cast({{ dbt.dateadd('month', 1, 'per_period.period_start') }} as date) as period_end,
        cast(per_period.aggregation as {{ dbt.type_string() }}) as aggregation,
        cast(per_period.quantity as {{ quantity_type() }}) as quantity,
        cast(meters.unit as {{ dbt.type_string() }}) as unit,
        cast(per_period.event_count as bigint) as event_count,
        cast(per_period.late_event_count as bigint) as late_event_count,
        cast(per_period.first_event_at as timestamp) as first_event_at,
        cast(per_period.last_event_at as timestamp) as last_event_at,
        cast(per_period.last_landing_batch_id as bigint) as last_landing_batch_id

    from per_period
    inner join meters on meters.meter_key = per_period.meter_key

)

select * from final
