{{ config(tags=['costs'], contract={'enforced': true}) }}

{#- Unit cost per meter unit: for every cost pool split by usage (an allocation rule with
    split method `usage`), the pool's allocated cost in a billing period and the meter's total
    quantity in that period. The API divides (cost per unit, exact decimals). -#}
with

rules as (

    select rule_id, rule_name, usage_meter_key as meter_key
    from {{ ref('stg_control_plane__cost_allocation_rules') }}
    where split_method = 'usage'

),

pools as (

    select billing_period_start, currency, rule_id, sum(amount) as allocated_cost_amount
    from {{ ref('fct_cost_allocations') }}
    where rule_id is not null
    group by 1, 2, 3

),

usage as (

    select
        cast(period_start as date) as period_start,
        meter_key,
        sum(quantity) as quantity,
        count(distinct tenant_id) as tenant_count
    from {{ ref('fct_usage_period') }}
    group by 1, 2

),

meters as (

    select meter_key, unit from {{ ref('dim_meters') }}

),

final as (

    select
        pools.billing_period_start as period_start,
        pools.currency,
        rules.meter_key,
        meters.unit,
        cast(pools.rule_id as bigint) as rule_id,
        rules.rule_name,
        cast(pools.allocated_cost_amount as numeric(38, 9)) as allocated_cost_amount,
        cast(coalesce(usage.quantity, 0) as numeric(38, 9)) as quantity,
        cast(coalesce(usage.tenant_count, 0) as integer) as tenant_count
    from pools
    inner join rules on rules.rule_id = pools.rule_id
    left join meters on meters.meter_key = rules.meter_key
    left join usage
        on usage.meter_key = rules.meter_key
        and usage.period_start = pools.billing_period_start

)

select * from final
