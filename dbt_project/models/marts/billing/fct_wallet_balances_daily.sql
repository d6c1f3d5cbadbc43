{{ config(tags=['invoices']) }}

{#- Each wallet's balance at the end of every day it has ledger entries, with that day's
    movements; a day without entries keeps the balance of the last row before it. -#}
with

{{ ref_ctes({'ledger': 'fct_wallet_ledger'}) }}

daily as (

    select
        wallet_id, tenant_id, currency, entry_date as balance_date,
        sum(case when entry_kind = 'grant' then amount else 0 end) as granted_amount,
        -sum(case when entry_kind in ('consumption', 'reversal') then amount else 0 end)
            as consumed_amount,
        -sum(case when entry_kind = 'breakage' then amount else 0 end) as expired_amount,
        sum(amount) as net_amount
    from ledger
    group by wallet_id, tenant_id, currency, entry_date

),

final as (

    select
        daily.*,
        sum(net_amount) over (
            partition by wallet_id order by balance_date
            rows between unbounded preceding and current row
        ) as balance_amount
    from daily

)

select
    cast(wallet_id as bigint) as wallet_id,
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(balance_date as date) as balance_date,
    cast(granted_amount as {{ money_amount_type() }}) as granted_amount,
    cast(consumed_amount as {{ money_amount_type() }}) as consumed_amount,
    cast(expired_amount as {{ money_amount_type() }}) as expired_amount,
    cast(net_amount as {{ money_amount_type() }}) as net_amount,
    cast(balance_amount as {{ money_amount_type() }}) as balance_amount
from final
