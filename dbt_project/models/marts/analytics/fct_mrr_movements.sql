{{ config(contract={'enforced': true}) }}

{#-
  Each month's MRR movement per tenant and currency (fct_mrr), one row per month whose MRR
  differs from the previous month's:

  * new: from zero, in the tenant's first month with MRR in the currency (its cohort month);
  * reactivation: from zero, in a later month (it had churned);
  * expansion / contraction: from above zero to more / less, still above zero;
  * churn: from above zero to zero.

  The amount is this month's MRR minus the previous month's (negative for contraction and
  churn), so a tenant's movements up to a month sum to its MRR then.
-#}
with

mrr as (

    select * from {{ ref('fct_mrr') }}
    where mrr_change_amount <> 0

),

final as (

    select
        tenant_id,
        currency,
        month_start,
        case
            when previous_mrr_amount = 0 and month_start = cohort_month_start then 'new'
            when previous_mrr_amount = 0 then 'reactivation'
            when mrr_amount = 0 then 'churn'
            when mrr_amount > previous_mrr_amount then 'expansion'
            else 'contraction'
        end as movement_type,
        previous_mrr_amount,
        mrr_amount,
        mrr_change_amount

    from mrr

)

select
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(month_start as date) as month_start,
    cast(movement_type as {{ dbt.type_string() }}) as movement_type,
    {{ cast_columns(['previous_mrr_amount', 'mrr_amount', 'mrr_change_amount'],
                    money_amount_type()) }}
from final
