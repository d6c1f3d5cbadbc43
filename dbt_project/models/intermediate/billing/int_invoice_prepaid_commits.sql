{{ billing_period_config(delete_window=true) }}

{#-
  Prepaid commit instalments: for each contract with a prepaid commit, the amount billed on
  the invoice of its subscription for each of the term's first periods (one instalment each,
  as the control plane split it to the currency's minor unit). The commit's balance is a
  wallet grant; the invoices draw it down in finalization, not here.
-#}
with

contracts as (

    select *
    from {{ ref('stg_control_plane__contracts') }}
    where prepaid_commit_amount is not null

),

counts as (

    select contract_id, count(*) as instalment_count
    from {{ ref('stg_control_plane__contract_commit_instalments') }}
    group by contract_id

),

final as (

    select
        contracts.subscription_id,
        contracts.tenant_id,
        instalments.period_start,
        contracts.currency,
        contracts.contract_id,
        contracts.starts_on,
        contracts.ends_on,
        instalments.instalment_index + 1 as instalment_number,
        counts.instalment_count,
        cast(instalments.instalment_amount as {{ money_amount_type() }}) as commit_amount

    from contracts
    inner join {{ ref('stg_control_plane__contract_commit_instalments') }} as instalments
        on instalments.contract_id = contracts.contract_id
    inner join counts on counts.contract_id = contracts.contract_id
    where {{ usage_window_filter('instalments.period_start', none) }}

)

select * from final
