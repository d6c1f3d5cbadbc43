{{ config(contract={'enforced': true}) }}

{#-
  The MRR bridge per currency and calendar month: starting MRR (the previous month's), each
  movement type's total, ending MRR; paying tenants at the start and end, new, reactivated and
  churned tenants; logo churn, revenue churn and net revenue churn rates; ARPA and ARR.

  Rates are fractions (0.25 = 25 %) and ARPA an amount, each an exact division rounded half-up
  (exact_ratio): rates to 6 places, ARPA to 9 (the amount scale); null with no denominator.
-#}
with

{{ ref_ctes({
    'mrr': 'fct_mrr',
    'movements': 'fct_mrr_movements',
}) }}

balances as (

    select
        currency,
        month_start,
        sum(previous_mrr_amount) as starting_mrr_amount,
        sum(mrr_amount) as ending_mrr_amount,
        sum(arr_amount) as ending_arr_amount,
        sum(case when previous_mrr_amount > 0 then 1 else 0 end) as starting_tenant_count,
        sum(case when mrr_amount > 0 then 1 else 0 end) as ending_tenant_count

    from mrr
    group by currency, month_start

),

{%- set movement_types = ['new', 'expansion', 'contraction', 'churn', 'reactivation'] %}

movement_totals as (

    select
        currency,
        month_start,
        {%- for kind in movement_types %}
        sum(case when movement_type = '{{ kind }}' then mrr_change_amount else 0 end)
            as {{ kind }}_mrr_amount,
        sum(case when movement_type = '{{ kind }}' then 1 else 0 end) as {{ kind }}_tenant_count
        {{- "," if not loop.last }}
        {%- endfor %}

    from movements
    group by currency, month_start

),

combined as (

    select
        balances.*,
        {%- for kind in movement_types %}
        coalesce(movement_totals.{{ kind }}_mrr_amount, 0) as {{ kind }}_mrr_amount,
        coalesce(movement_totals.{{ kind }}_tenant_count, 0) as {{ kind }}_tenant_count
        {{- "," if not loop.last }}
        {%- endfor %}

    from balances
    left join movement_totals
        on {{ same_keys('movement_totals', 'balances', ['currency', 'month_start']) }}

),

final as (

    select
        combined.*,
        {{ exact_ratio('churn_tenant_count', 'starting_tenant_count', 6) }} as logo_churn_rate,
        {{ exact_ratio('-(churn_mrr_amount + contraction_mrr_amount)', 'starting_mrr_amount', 6) }}
            as revenue_churn_rate,
        {{ exact_ratio('-(churn_mrr_amount + contraction_mrr_amount + expansion_mrr_amount)',
                       'starting_mrr_amount', 6) }} as net_revenue_churn_rate,
        {{ exact_ratio('ending_mrr_amount', 'ending_tenant_count', 9) }} as arpa_amount

    from combined

)

select
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(month_start as date) as month_start,
    cast(starting_mrr_amount as {{ money_amount_type() }}) as starting_mrr_amount,
    {%- for kind in movement_types %}
    cast({{ kind }}_mrr_amount as {{ money_amount_type() }}) as {{ kind }}_mrr_amount,
    {%- endfor %}
    cast(ending_mrr_amount as {{ money_amount_type() }}) as ending_mrr_amount,
    cast(ending_arr_amount as {{ money_amount_type() }}) as ending_arr_amount,
    cast(starting_tenant_count as integer) as starting_tenant_count,
    cast(new_tenant_count as integer) as new_tenant_count,
    cast(reactivation_tenant_count as integer) as reactivated_tenant_count,
    cast(churn_tenant_count as integer) as churned_tenant_count,
    cast(ending_tenant_count as integer) as ending_tenant_count,
    {{ cast_columns(['logo_churn_rate', 'revenue_churn_rate', 'net_revenue_churn_rate'],
                    'numeric(12, 6)') }},
    cast(arpa_amount as {{ money_amount_type() }}) as arpa_amount
from final
