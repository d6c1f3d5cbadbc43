{{ billing_period_config(contract=true) }}

{#- Usage per billing period broken down by each meter's group-by properties; only meters that
    declare `group_by` appear. -#}
with

partials as (

    select * from {{ ref('int_usage_daily_partials') }}
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
        {{ rolled_up_quantity() }} as quantity,
        sum(event_count) as event_count,
        max(last_landing_batch_id) as last_landing_batch_id

    from partials
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
