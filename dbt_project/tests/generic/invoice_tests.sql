{#- Accounting identities of invoices, as generic tests (Dagster turns them into asset checks
    on the invoice marts; they are errors, so a failure stops the run before payment
    collection). -#}

{#- total = subtotal - discounts + tax - credits, on every invoice. -#}
{% test invoice_totals_tie_out(model) %}

select invoice_id, subtotal_amount, discount_amount, tax_amount, credit_amount, total_amount
from {{ model }}
where total_amount <> subtotal_amount - discount_amount + tax_amount - credit_amount

{% endtest %}


{#- The lines add up: charge lines to the subtotal, discount lines to minus the discounts, the
    tax line to the tax, the credit and wallet lines to minus the credits (a finalized
    invoice's credit_amount includes what its wallets paid), all lines to the total. -#}
{% test invoice_lines_tie_out(model, lines) %}

with sums as (

    select
        invoice_id,
        sum(case when line_kind not in ('discount', 'tax', 'credit', 'wallet') then amount else 0 end)
            as charges,
        sum(case when line_kind = 'discount' then amount else 0 end) as discounts,
        sum(case when line_kind = 'tax' then amount else 0 end) as tax,
        sum(case when line_kind in ('credit', 'wallet') then amount else 0 end) as credits,
        sum(amount) as total
    from {{ lines }}
    group by invoice_id

)

select invoices.invoice_id
from {{ model }} as invoices
left join sums on sums.invoice_id = invoices.invoice_id
where coalesce(sums.charges, 0) <> invoices.subtotal_amount
    or coalesce(sums.discounts, 0) <> -invoices.discount_amount
    or coalesce(sums.tax, 0) <> invoices.tax_amount
    or coalesce(sums.credits, 0) <> -invoices.credit_amount
    or coalesce(sums.total, 0) <> invoices.total_amount

{% endtest %}


{#- Finalized invoices in the mart are exactly the stored finalized copies. -#}
{% test matches_finalized_snapshot(model, snapshot) %}

with mart as (

    select invoice_id, invoice_number, subscription_id, period_start, currency,
           subtotal_amount, discount_amount, tax_amount, credit_amount, total_amount
    from {{ model }}
    where status <> 'draft'

),

stored as (

    select invoice_id, invoice_number, subscription_id, period_start, currency,
           subtotal_amount, discount_amount, tax_amount, credit_amount, total_amount
    from {{ snapshot }}

),

differences as (

    (select * from mart except select * from stored)
    union all
    (select * from stored except select * from mart)

)

select * from differences

{% endtest %}
