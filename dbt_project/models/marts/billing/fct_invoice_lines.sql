{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- The lines of every invoice in fct_invoices: finalized lines as finalized, draft lines as
    they stand. An invoice's total is the sum of its lines. -#}
with

invoices as (

    select invoice_id, status from {{ ref('fct_invoices') }}

),

{{ ref_ctes({
    'finalized_lines': 'stg_invoicing__finalized_invoice_lines',
    'draft_lines': 'int_invoice_full_lines_draft',
}) }}

unioned as (

    select
        invoice_id, line_number, line_kind, description, service_period_start, plan_id,
        charge_id, meter_key, quantity, amount
    from finalized_lines

    union all

    select
        draft_lines.invoice_id, draft_lines.line_number, draft_lines.line_kind,
        draft_lines.description, draft_lines.service_period_start, draft_lines.plan_id,
        draft_lines.charge_id, draft_lines.meter_key, draft_lines.quantity, draft_lines.amount
    from draft_lines
    inner join invoices
        on invoices.invoice_id = draft_lines.invoice_id
        and invoices.status = 'draft'

)

select
    cast(unioned.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(unioned.line_number as integer) as line_number,
    cast(unioned.line_kind as {{ dbt.type_string() }}) as line_kind,
    cast(unioned.description as {{ dbt.type_string() }}) as description,
    cast(unioned.service_period_start as date) as service_period_start,
    cast(unioned.plan_id as bigint) as plan_id,
    cast(unioned.charge_id as bigint) as charge_id,
    cast(unioned.meter_key as {{ dbt.type_string() }}) as meter_key,
    cast(unioned.quantity as {{ quantity_type() }}) as quantity,
    cast(unioned.amount as {{ money_amount_type() }}) as amount
from unioned
inner join invoices on invoices.invoice_id = unioned.invoice_id
