{{ billing_period_config(delete_window=true) }}

{#- Every line of every draft invoice, in order: the charge lines (fees, usage, true-ups,
    adjustments), then one line per coupon (negative), a postpaid commit's true-up (after the
    coupons, which do not reduce it), a prepaid commit's instalment (untaxed), the tax line
    and the credit line
    (negative), so that an invoice's total is the sum of its lines. This is what finalization
    copies, unchanged. -#}
with

{{ ref_ctes({'invoices': 'int_invoices_draft'}, windowed=['invoices']) }}

charge_lines as (

    select
        invoices.invoice_id,
        lines.line_number,
        lines.line_kind,
        lines.description,
        lines.service_period_start,
        lines.plan_id,
        lines.charge_id,
        lines.meter_key,
        lines.quantity,
        lines.amount

    from {{ ref('int_invoice_lines_draft') }} as lines
    inner join invoices
        on invoices.subscription_id = lines.subscription_id
        and invoices.period_start = lines.period_start

),

discount_lines as (

    select
        invoices.invoice_id,
        invoices.line_count + discounts.coupon_rank as line_number,
        'discount' as line_kind,
        'Coupon ' || discounts.coupon_code as description,
        invoices.period_start as service_period_start,
        cast(null as bigint) as plan_id,
        cast(null as bigint) as charge_id,
        cast(null as {{ dbt.type_string() }}) as meter_key,
        cast(null as {{ quantity_type() }}) as quantity,
        -discounts.discount_amount as amount

    from {{ ref('int_invoice_discounts_draft') }} as discounts
    inner join invoices
        on invoices.subscription_id = discounts.subscription_id
        and invoices.period_start = discounts.period_start
    where discounts.discount_amount <> 0

),

true_up_lines as (

    select
        invoices.invoice_id,
        invoices.line_count + 500 as line_number,
        'commit_true_up' as line_kind,
        'Postpaid commit true-up (term '
            || cast(true_ups.starts_on as {{ dbt.type_string() }}) || ' to '
            || cast(true_ups.ends_on as {{ dbt.type_string() }}) || ')' as description,
        invoices.period_start as service_period_start,
        cast(null as bigint) as plan_id,
        cast(null as bigint) as charge_id,
        cast(null as {{ dbt.type_string() }}) as meter_key,
        cast(null as {{ quantity_type() }}) as quantity,
        true_ups.true_up_amount as amount

    from {{ ref('int_invoice_commit_true_ups') }} as true_ups
    inner join invoices
        on invoices.subscription_id = true_ups.subscription_id
        and invoices.period_start = true_ups.period_start

),

prepaid_lines as (

    select
        invoices.invoice_id,
        invoices.line_count + 600 as line_number,
        'prepaid_commit' as line_kind,
        'Prepaid commit'
            || case when prepaid.instalment_count > 1
                then ' instalment ' || cast(prepaid.instalment_number as {{ dbt.type_string() }})
                    || ' of ' || cast(prepaid.instalment_count as {{ dbt.type_string() }})
                else '' end
            || ' (term '
            || cast(prepaid.starts_on as {{ dbt.type_string() }}) || ' to '
            || cast(prepaid.ends_on as {{ dbt.type_string() }}) || ')' as description,
        invoices.period_start as service_period_start,
        cast(null as bigint) as plan_id,
        cast(null as bigint) as charge_id,
        cast(null as {{ dbt.type_string() }}) as meter_key,
        cast(null as {{ quantity_type() }}) as quantity,
        prepaid.commit_amount as amount

    from {{ ref('int_invoice_prepaid_commits') }} as prepaid
    inner join invoices
        on invoices.subscription_id = prepaid.subscription_id
        and invoices.period_start = prepaid.period_start

),

totals_lines as (

    select
        invoice_id,
        line_count + 1000 as line_number,
        'tax' as line_kind,
        'Tax (' || cast(tax_rate_percentage as {{ dbt.type_string() }}) || '%)' as description,
        period_start as service_period_start,
        cast(null as bigint) as plan_id,
        cast(null as bigint) as charge_id,
        cast(null as {{ dbt.type_string() }}) as meter_key,
        cast(null as {{ quantity_type() }}) as quantity,
        tax_amount as amount
    from invoices
    where tax_amount <> 0

    union all

    select
        invoice_id,
        line_count + 1001,
        'credit',
        case when credit_amount < 0 then 'Negative balance carried to credit'
             else 'Credit applied' end,
        period_start,
        cast(null as bigint),
        cast(null as bigint),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ quantity_type() }}),
        -credit_amount
    from invoices
    where credit_amount <> 0

),

unioned as (

    select * from charge_lines
    union all
    select * from discount_lines
    union all
    select * from true_up_lines
    union all
    select * from prepaid_lines
    union all
    select * from totals_lines

),

final as (

    select
        unioned.invoice_id,
        invoices.period_start,
        cast(row_number() over (
            partition by unioned.invoice_id order by unioned.line_number
        ) as integer) as line_number,
        unioned.line_kind,
        unioned.description,
        unioned.service_period_start,
        unioned.plan_id,
        unioned.charge_id,
        unioned.meter_key,
        cast(unioned.quantity as {{ quantity_type() }}) as quantity,
        cast(unioned.amount as {{ money_amount_type() }}) as amount

    from unioned
    inner join invoices on invoices.invoice_id = unioned.invoice_id

)

select * from final
