{{ config(contract={'enforced': true}) }}

{#-
  MRR and ARR per tenant, currency and calendar month: the sum of its paying subscriptions'
  (fct_subscription_mrr), with the previous month's MRR beside it. A tenant and currency has
  a row for every month from its first month with MRR above zero (its cohort month) in which
  this month's or the previous month's MRR is above zero: the month it churns shows 0.
-#}
with

{{ ref_ctes({
    'subscription_mrr': 'fct_subscription_mrr',
    'months': 'int_billing_periods',
}) }}

tenant_months as (

    select
        tenant_id,
        currency,
        month_start,
        count(*) as subscription_count,
        sum(fixed_mrr_amount) as fixed_mrr_amount,
        sum(usage_mrr_amount) as usage_mrr_amount,
        sum(mrr_amount) as mrr_amount,
        sum(arr_amount) as arr_amount

    from subscription_mrr
    group by tenant_id, currency, month_start

),

cohorts as (

    select tenant_id, currency, min(month_start) as cohort_month_start
    from tenant_months
    where mrr_amount > 0
    group by tenant_id, currency

),

dense as (

    {{ month_grid('cohorts', ['tenant_id', 'currency'], 'cohort_month_start', 'tenant_months',
                  ['subscription_count', 'fixed_mrr_amount', 'usage_mrr_amount', 'mrr_amount',
                   'arr_amount'], carried=['cohort_month_start']) }}

),

with_previous as (

    select
        dense.*,
        coalesce(lag(dense.mrr_amount) over (
            partition by dense.tenant_id, dense.currency order by dense.month_start
        ), 0) as previous_mrr_amount

    from dense

)

select
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(month_start as date) as month_start,
    cast(cohort_month_start as date) as cohort_month_start,
    cast(subscription_count as integer) as subscription_count,
    {{ cast_columns(['fixed_mrr_amount', 'usage_mrr_amount', 'mrr_amount', 'arr_amount',
                     'previous_mrr_amount'], money_amount_type()) }},
    cast(mrr_amount - previous_mrr_amount as {{ money_amount_type() }}) as mrr_change_amount
from with_previous
where mrr_amount > 0 or previous_mrr_amount > 0
