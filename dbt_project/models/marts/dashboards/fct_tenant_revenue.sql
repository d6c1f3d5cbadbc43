{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- Revenue per tenant, billing period and currency from the invoices (void ones excluded):
    revenue is what was charged net of discounts, before tax and credits (credits pay an
    invoice, they are not a price cut). Read by the cost dashboard. -#}
with

invoices as (

    select * from {{ ref('fct_invoices') }}
    where status <> 'void'

),

final as (

    select
        tenant_id,
        period_start,
        currency,
        cast(count(*) as integer) as invoice_count,
        cast(sum(case when status = 'finalized' then 1 else 0 end) as integer)
            as finalized_invoice_count,
        cast(sum(case when status = 'draft' then 1 else 0 end) as integer)
            as draft_invoice_count,
        cast(sum(subtotal_amount - discount_amount) as numeric(38, 9)) as revenue_amount,
        cast(sum(tax_amount) as numeric(38, 9)) as tax_amount,
        cast(sum(credit_amount) as numeric(38, 9)) as credit_amount,
        cast(sum(total_amount) as numeric(38, 9)) as billed_amount

    from invoices
    group by tenant_id, period_start, currency

)

select * from final
