{{ billing_period_config(contract=true) }}

{#- Usage per tenant, meter and UTC day, each meter's aggregation applied within the day. -#}
with

{{ usage_mart_inputs() }}

daily as (

    {{ rolled_up_partials(['tenant_id', 'meter_key', 'aggregation', 'usage_date', 'period_start']) }}

),

final as (

    select
        cast(daily.tenant_id as {{ dbt.type_string() }}) as tenant_id,
        cast(daily.meter_key as {{ dbt.type_string() }}) as meter_key,
        cast(daily.usage_date as date) as usage_date,
        cast(daily.period_start as date) as period_start,
        cast(daily.aggregation as {{ dbt.type_string() }}) as aggregation,
        cast(daily.quantity as {{ quantity_type() }}) as quantity,
        cast(meters.unit as {{ dbt.type_string() }}) as unit,
        cast(daily.event_count as bigint) as event_count,
        cast(daily.late_event_count as bigint) as late_event_count,
        cast(daily.first_event_at as timestamp) as first_event_at,
        cast(daily.last_event_at as timestamp) as last_event_at,
        cast(daily.last_landing_batch_id as bigint) as last_landing_batch_id

    from daily
    inner join meters on meters.meter_key = daily.meter_key

)

select * from final
