{{ config(tags=['costs'], meta={'dagster': {'ref': {'name': 'int_cost_daily_allocations'}}}) }}
{#- The period marginal of the daily split: summed over a billing period's days, each daily
    allocation (a center's direct or unallocated cost, or its share of one pool) is less than
    one minor unit away from the same allocation in fct_cost_allocations, which is rounded to
    whole minor units per period (largest remainder). The daily amounts are exact; the only
    difference is that rounding. -#}
with

sides as (

    select
        billing_period as billing_period_start,
        billing_currency as currency,
        cost_center_code,
        allocation_kind,
        rule_id,
        amount as daily_amount,
        cast(0 as {{ cost_amount_type() }}) as allocated_amount
    from {{ ref('int_cost_daily_allocations') }}

    union all

    select
        billing_period_start,
        currency,
        cost_center_code,
        allocation_kind,
        rule_id,
        cast(0 as {{ cost_amount_type() }}) as daily_amount,
        amount as allocated_amount
    from {{ ref('fct_cost_allocations') }}

),

compared as (

    select
        billing_period_start,
        currency,
        cost_center_code,
        allocation_kind,
        rule_id,
        sum(daily_amount) as daily_amount,
        sum(allocated_amount) as allocated_amount
    from sides
    group by 1, 2, 3, 4, 5

),

currencies as (

    select currency_code, minor_unit from {{ ref('currencies') }}

)

select compared.*
from compared
left join currencies on currencies.currency_code = compared.currency
where abs(compared.daily_amount - compared.allocated_amount)
    * {{ minor_unit_scale('coalesce(currencies.minor_unit, 2)') }} >= 1
