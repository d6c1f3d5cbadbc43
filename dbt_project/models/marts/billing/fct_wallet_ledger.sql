{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- The wallet ledger, append-only: one entry per grant (from the control plane) and per
    consumption, breakage and reversal (appended by finalization). Amounts are signed; a
    wallet's balance is the sum of its entries. Read by the API. -#}
with

{{ ref_ctes({
    'grants': 'stg_control_plane__wallet_grants',
    'entries': 'stg_invoicing__wallet_ledger_entries',
    'wallets': 'stg_control_plane__wallets',
}) }}

grant_entries as (

    select
        'grant|' || cast(grant_id as {{ dbt.type_string() }}) as entry_id,
        'grant' as entry_kind,
        wallet_id,
        grant_id,
        tenant_id,
        currency,
        grant_amount as amount,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        'grant ' || cast(grant_id as {{ dbt.type_string() }}) || ' (' || grant_kind || ')'
            as cause,
        granted_at as entry_at
    from grants

),

unioned as (

    select * from grant_entries

    union all

    select
        entry_id, entry_kind, wallet_id, grant_id, tenant_id, currency, amount, invoice_id,
        cause, entry_at
    from entries

),

final as (

    select
        unioned.*,
        wallets.wallet_name,
        wallets.wallet_priority
    from unioned
    left join wallets on wallets.wallet_id = unioned.wallet_id

)

select
    cast(entry_id as {{ dbt.type_string() }}) as entry_id,
    cast(entry_kind as {{ dbt.type_string() }}) as entry_kind,
    cast(wallet_id as bigint) as wallet_id,
    cast(wallet_name as {{ dbt.type_string() }}) as wallet_name,
    cast(wallet_priority as integer) as wallet_priority,
    cast(grant_id as bigint) as grant_id,
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(amount as {{ money_amount_type() }}) as amount,
    cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(cause as {{ dbt.type_string() }}) as cause,
    cast(entry_at as timestamp) as entry_at,
    cast(entry_at as date) as entry_date
from final
