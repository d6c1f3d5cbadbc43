{{ config(tags=['costs'], meta={'dagster': {'ref': {'name': 'fct_cloud_costs_daily_by_cost_center'}}}) }}
{#- Summed over a billing period's days, a center's daily direct and shared cost are each
    less than one minor unit per allocation away from its direct and shared cost in
    fct_cost_center_costs (its direct cost is one allocation, its shared cost one per pool it
    shares; see assert_daily_cost_allocations_within_a_minor_unit). -#}
with

daily as (

    select
        billing_period_start,
        currency,
        cost_center_code,
        sum(direct_amount) as direct_amount,
        sum(shared_amount) as shared_amount
    from {{ ref('fct_cloud_costs_daily_by_cost_center') }}
    group by 1, 2, 3

),

allocation_counts as (

    select
        billing_period_start,
        currency,
        cost_center_code,
        sum(case when allocation_kind = 'shared' then 0 else 1 end) as direct_allocations,
        sum(case when allocation_kind = 'shared' then 1 else 0 end) as shared_allocations
    from {{ ref('fct_cost_allocations') }}
    group by 1, 2, 3

),

sides as (

    select
        billing_period_start, currency, cost_center_code,
        direct_amount as daily_direct_amount,
        shared_amount as daily_shared_amount,
        cast(0 as {{ cost_amount_type() }}) as direct_amount,
        cast(0 as {{ cost_amount_type() }}) as shared_amount,
        0 as direct_allocations,
        0 as shared_allocations
    from daily

    union all

    select
        billing_period_start, currency, cost_center_code,
        cast(0 as {{ cost_amount_type() }}), cast(0 as {{ cost_amount_type() }}),
        direct_amount, shared_amount,
        0, 0
    from {{ ref('fct_cost_center_costs') }}

    union all

    select
        billing_period_start, currency, cost_center_code,
        cast(0 as {{ cost_amount_type() }}), cast(0 as {{ cost_amount_type() }}),
        cast(0 as {{ cost_amount_type() }}), cast(0 as {{ cost_amount_type() }}),
        direct_allocations, shared_allocations
    from allocation_counts

),

compared as (

    select
        billing_period_start,
        currency,
        cost_center_code,
        sum(daily_direct_amount) as daily_direct_amount,
        sum(direct_amount) as direct_amount,
        sum(direct_allocations) as direct_allocations,
        sum(daily_shared_amount) as daily_shared_amount,
        sum(shared_amount) as shared_amount,
        sum(shared_allocations) as shared_allocations
    from sides
    group by 1, 2, 3

),

currencies as (

    select currency_code, minor_unit from {{ ref('currencies') }}

)

select compared.*
from compared
left join currencies on currencies.currency_code = compared.currency
where abs(compared.daily_direct_amount - compared.direct_amount)
        * {{ minor_unit_scale('coalesce(currencies.minor_unit, 2)') }}
        >= greatest(compared.direct_allocations, 1)
    or abs(compared.daily_shared_amount - compared.shared_amount)
        * {{ minor_unit_scale('coalesce(currencies.minor_unit, 2)') }}
        >= greatest(compared.shared_allocations, 1)
