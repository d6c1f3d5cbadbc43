{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_start',
        tags=['billing_period'],
        on_schema_change='fail',
        contract={'enforced': true},
    )
}}

with

metered as (

    select * from {{ ref('int_usage_events_metered') }}
    where {{ usage_window_filter('period_start') }}

),

meters as (

    select meter_key, unit from {{ ref('stg_control_plane__meters') }}

),

daily as (

    select
        tenant_id,
        meter_key,
        aggregation,
        usage_date,
        period_start,
        {{ usage_quantity() }} as quantity,
        count(*) as event_count,
        sum(case when is_late then 1 else 0 end) as late_event_count,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        max(landing_batch_id) as last_landing_batch_id

    from metered
    group by tenant_id, meter_key, aggregation, usage_date, period_start

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
