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

{#- Breakdown of usage per billing period by each meter's group-by properties; only meters
    that declare `group_by` appear. -#}
with

metered as (

    select * from {{ ref('int_usage_events_metered') }}
    where {{ usage_window_filter('period_start') }}
        and group_key <> ''

),

per_group as (

    select
        tenant_id,
        meter_key,
        aggregation,
        period_start,
        group_key,
        {{ usage_quantity() }} as quantity,
        count(*) as event_count,
        max(landing_batch_id) as last_landing_batch_id

    from metered
    group by tenant_id, meter_key, aggregation, period_start, group_key

),

final as (

    select
        cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
        cast(meter_key as {{ dbt.type_string() }}) as meter_key,
        cast(period_start as date) as period_start,
        cast(group_key as {{ dbt.type_string() }}) as group_key,
        cast(aggregation as {{ dbt.type_string() }}) as aggregation,
        cast(quantity as {{ quantity_type() }}) as quantity,
        cast(event_count as bigint) as event_count,
        cast(last_landing_batch_id as bigint) as last_landing_batch_id

    from per_group

)

select * from final
