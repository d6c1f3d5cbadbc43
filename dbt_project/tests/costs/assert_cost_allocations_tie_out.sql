{{ config(tags=['costs'], meta={'dagster': {'ref': {'name': 'fct_cost_allocations'}}}) }}
{#- Allocated total = source EffectiveCost total per billing period and currency, to the
    minor unit (the source total rounded half-up once). -#}
with

source_totals as (

    select billing_period, billing_currency, sum(effective_cost) as source_amount
    from {{ ref('int_cost_lines_current') }}
    group by 1, 2

),

allocated as (

    select billing_period_start, currency, sum(amount) as allocated_amount
    from {{ ref('fct_cost_allocations') }}
    group by 1, 2

),

currencies as (

    select currency_code, minor_unit from {{ ref('currencies') }}

)

select
    source_totals.billing_period,
    source_totals.billing_currency,
    source_totals.source_amount,
    allocated.allocated_amount
from source_totals
full outer join allocated
    on allocated.billing_period_start = source_totals.billing_period
    and allocated.currency = source_totals.billing_currency
left join currencies on currencies.currency_code = coalesce(source_totals.billing_currency, allocated.currency)
where coalesce(allocated.allocated_amount, 0)
    <> coalesce({{ round_to_minor_unit('source_totals.source_amount', 'coalesce(currencies.minor_unit, 2)') }}, 0)
