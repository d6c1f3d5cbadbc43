{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- Every invoice: finalized ones exactly as they were finalized (void if declared so), and the
    draft of every subscription and period not finalized yet. Read by the API and, for
    finalized ones, by payment collection. -#}
with

{{ ref_ctes({
    'finalized': 'stg_invoicing__finalized_invoices',
    'voids': 'stg_control_plane__invoice_voids',
    'drafts': 'int_invoices_draft',
}) }}

finalized_invoices as (

    select
        finalized.invoice_id,
        finalized.invoice_number,
        case when voids.invoice_id is not null then 'void' else 'finalized' end as status,
        finalized.subscription_id,
        finalized.tenant_id,
        finalized.period_start,
        finalized.period_end,
        finalized.issue_number,
        finalized.currency,
        finalized.subtotal_amount,
        finalized.discount_amount,
        finalized.tax_rate_percentage,
        finalized.tax_amount,
        finalized.amount_due_before_credits,
        finalized.credit_amount,
        finalized.total_amount,
        finalized.finalized_at,
        voids.voided_at,
        voids.void_reason

    from finalized
    left join voids on voids.invoice_id = finalized.invoice_id

),

draft_invoices as (

    select
        drafts.invoice_id,
        cast(null as {{ dbt.type_string() }}) as invoice_number,
        'draft' as status,
        drafts.subscription_id,
        drafts.tenant_id,
        drafts.period_start,
        drafts.period_end,
        drafts.issue_number,
        drafts.currency,
        drafts.subtotal_amount,
        drafts.discount_amount,
        drafts.tax_rate_percentage,
        drafts.tax_amount,
        drafts.amount_due_before_credits,
        drafts.credit_amount,
        drafts.total_amount,
        cast(null as timestamp) as finalized_at,
        cast(null as timestamp) as voided_at,
        cast(null as {{ dbt.type_string() }}) as void_reason

    from drafts
    left join finalized_invoices
        on finalized_invoices.subscription_id = drafts.subscription_id
        and finalized_invoices.period_start = drafts.period_start
        and finalized_invoices.status = 'finalized'
    left join finalized as same_id on same_id.invoice_id = drafts.invoice_id
    where finalized_invoices.invoice_id is null
        and same_id.invoice_id is null

),

final as (

    select * from finalized_invoices
    union all
    select * from draft_invoices

)

select
    cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(issue_number as integer) as issue_number,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(subtotal_amount as {{ money_amount_type() }}) as subtotal_amount,
    cast(discount_amount as {{ money_amount_type() }}) as discount_amount,
    cast(tax_rate_percentage as numeric(12, 6)) as tax_rate_percentage,
    cast(tax_amount as {{ money_amount_type() }}) as tax_amount,
    cast(amount_due_before_credits as {{ money_amount_type() }}) as amount_due_before_credits,
    cast(credit_amount as {{ money_amount_type() }}) as credit_amount,
    cast(total_amount as {{ money_amount_type() }}) as total_amount,
    cast(finalized_at as timestamp) as finalized_at,
    cast(voided_at as timestamp) as voided_at,
    cast(void_reason as {{ dbt.type_string() }}) as void_reason
from final
