{{ config(tags=['costs'], meta={'dagster': {'ref': {'name': 'fct_cost_allocation_coverage'}}}) }}
{#- Every billing period and currency with cost has its allocation coverage reported. -#}
select distinct lines.billing_period, lines.billing_currency
from {{ ref('int_cost_lines_current') }} as lines
left join {{ ref('fct_cost_allocation_coverage') }} as coverage
    on coverage.billing_period_start = lines.billing_period
    and coverage.currency = lines.billing_currency
where coverage.currency is null
