with

source as (

    select * from {{ source('invoicing', 'finalized_invoices') }}

),

renamed as (

    select
        invoice_id,
        invoice_number,
        subscription_id,
        tenant_id,
        period_start,
        period_end,
        issue_number,
        currency,
        subtotal_amount,
        discount_amount,
        tax_rate_percentage,
        tax_amount,
        amount_due_before_credits,
        credit_amount,
        total_amount,
        finalized_at

    from source

)

select * from renamed
