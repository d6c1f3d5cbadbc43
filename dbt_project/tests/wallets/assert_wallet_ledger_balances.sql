{{ config(tags=['invoices'], meta={'dagster': {'ref': {'name': 'fct_wallet_balances_daily'}}}) }}
{#- The wallet ledger balances: per wallet, grants - consumption (net of reversals) - breakage
    = the last daily balance; and no grant is ever consumed below zero. Any row is a failure. -#}
with

ledger as (

    select
        wallet_id,
        sum(case when entry_kind = 'grant' then amount else 0 end) as granted,
        -sum(case when entry_kind in ('consumption', 'reversal') then amount else 0 end)
            as consumed,
        -sum(case when entry_kind = 'breakage' then amount else 0 end) as expired
    from {{ ref('fct_wallet_ledger') }}
    group by wallet_id

),

last_balances as (

    select wallet_id, balance_amount
    from (
        select
            wallet_id, balance_amount,
            row_number() over (partition by wallet_id order by balance_date desc) as recency
        from {{ ref('fct_wallet_balances_daily') }}
    ) as ranked
    where recency = 1

),

wallet_breaks as (

    select ledger.wallet_id, cast(null as bigint) as grant_id
    from ledger
    left join last_balances on last_balances.wallet_id = ledger.wallet_id
    where ledger.granted - ledger.consumed - ledger.expired
        <> coalesce(last_balances.balance_amount, 0)

),

grant_breaks as (

    select wallet_id, grant_id
    from {{ ref('fct_wallet_ledger') }}
    group by wallet_id, grant_id
    having sum(amount) < 0

)

select * from wallet_breaks
union all
select * from grant_breaks
