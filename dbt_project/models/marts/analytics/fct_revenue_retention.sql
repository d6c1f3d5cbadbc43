{{ config(contract={'enforced': true}) }}

{#-
  Gross and net revenue retention and logo retention per signup cohort, currency and month.
  A tenant's cohort is its first month with MRR in the currency (cohort_month_start of fct_mrr);
  its starting MRR is its MRR that month. For each later month up to the current one:

  * net revenue retention = the cohort's MRR that month / its starting MRR (expansion counts);
  * gross revenue retention = the sum over its tenants of the smaller of that month's MRR and
    their starting MRR / its starting MRR (expansion does not count; never above 1);
  * logo retention = tenants with MRR that month / tenants in the cohort.

  Fractions, exact divisions rounded half-up to 6 places (exact_ratio).
-#}
with

{{ ref_ctes({
    'mrr': 'fct_mrr',
    'months': 'int_billing_periods',
}) }}

cohort_tenants as (

    select tenant_id, currency, cohort_month_start, mrr_amount as starting_mrr_amount
    from mrr
    where month_start = cohort_month_start

),

cohorts as (

    select
        cohort_month_start,
        currency,
        count(*) as cohort_tenant_count,
        sum(starting_mrr_amount) as starting_mrr_amount

    from cohort_tenants
    group by cohort_month_start, currency

),

retained as (

    select
        cohort_tenants.cohort_month_start,
        cohort_tenants.currency,
        mrr.month_start,
        sum(case when mrr.mrr_amount > 0 then 1 else 0 end) as retained_tenant_count,
        sum(mrr.mrr_amount) as mrr_amount,
        sum(case
            when mrr.mrr_amount < cohort_tenants.starting_mrr_amount then mrr.mrr_amount
            else cohort_tenants.starting_mrr_amount
        end) as retained_mrr_amount

    from cohort_tenants
    inner join mrr
        on mrr.tenant_id = cohort_tenants.tenant_id
        and mrr.currency = cohort_tenants.currency
    group by cohort_tenants.cohort_month_start, cohort_tenants.currency, mrr.month_start

),

cohort_months as (

    {{ month_grid('cohorts', ['cohort_month_start', 'currency'], 'cohort_month_start', 'retained',
                  ['retained_tenant_count', 'mrr_amount', 'retained_mrr_amount'],
                  carried=['cohort_tenant_count', 'starting_mrr_amount']) }}

),

final as (

    select
        cohort_months.*,
        {{ dbt.datediff('cohort_month_start', 'month_start', 'month') }} as months_since_cohort,
        {{ exact_ratio('mrr_amount', 'starting_mrr_amount', 6) }} as net_revenue_retention,
        {{ exact_ratio('retained_mrr_amount', 'starting_mrr_amount', 6) }}
            as gross_revenue_retention,
        {{ exact_ratio('retained_tenant_count', 'cohort_tenant_count', 6) }} as logo_retention

    from cohort_months

)

select
    cast(cohort_month_start as date) as cohort_month_start,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(month_start as date) as month_start,
    cast(months_since_cohort as integer) as months_since_cohort,
    cast(cohort_tenant_count as integer) as cohort_tenant_count,
    cast(retained_tenant_count as integer) as retained_tenant_count,
    {{ cast_columns(['starting_mrr_amount', 'mrr_amount', 'retained_mrr_amount'],
                    money_amount_type()) }},
    {{ cast_columns(['net_revenue_retention', 'gross_revenue_retention', 'logo_retention'],
                    'numeric(12, 6)') }}
from final
