{#- Allocated EffectiveCost per billing period, currency, cost center, kind (`direct`,
    `shared`, `unallocated`) and shared rule, in whole minor units: per period and currency
    the rows add up exactly to the source total rounded to the cent. -#}
with

allocations as (

    select * from {{ ref('int_cost_allocations') }}

),

rules as (

    select rule_id, rule_name, split_method
    from {{ ref('stg_control_plane__cost_allocation_rules') }}

),

final as (

    select
        allocations.billing_period as billing_period_start,
        allocations.billing_currency as currency,
        allocations.cost_center_code,
        allocations.allocation_kind,
        allocations.rule_id,
        rules.rule_name,
        rules.split_method,
        allocations.amount,
        allocations.cost_center_code = 'unallocated' as is_unallocated
    from allocations
    left join rules on rules.rule_id = allocations.rule_id

)

select * from final
