{{ config(tags=['invoices'], meta={'dagster': {'ref': {'name': 'fct_wallet_ledger'}}}) }}
{#- What the ledger says each invoice consumed equals the invoice's wallet lines, both ways.
    Any row is a failure. -#}
with

consumed as (

    select invoice_id, sum(amount) as amount
    from {{ ref('fct_wallet_ledger') }}
    where entry_kind = 'consumption'
    group by invoice_id

),

invoiced as (

    select invoice_id, sum(amount) as amount
    from {{ ref('fct_invoice_lines') }}
    where line_kind = 'wallet'
    group by invoice_id

)

select coalesce(consumed.invoice_id, invoiced.invoice_id) as invoice_id
from consumed
full outer join invoiced on invoiced.invoice_id = consumed.invoice_id
where coalesce(consumed.amount, 0) <> coalesce(invoiced.amount, 0)
