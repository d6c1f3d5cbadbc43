{{ billing_period_config(delete_window=true) }}

{#-
  Draft invoices, one per subscription and billing period not yet finalized, totalled in the
  documented order: the lines (each already rounded), a postpaid commit's true-up
  (int_invoice_commit_true_ups) and a prepaid commit's instalment (int_invoice_prepaid_commits)
  make the subtotal; coupons come off the lines in sequence and never below zero; tax is
  computed once on the discounted subtotal less the instalment (clamped at zero), all the
  tenant's rates on the same base without compounding, rounded half-up once; credits are applied after tax.

  Credits: per tenant and currency, grants (from the period they were granted in) and invoices
  form one sequence in period order; the balance before each invoice pays as much of it as it
  can, and an invoice whose amount is negative (proration credits exceeding charges) adds to
  the balance instead of going below zero. The balance B is the Lindley recursion
  B_i = max(0, B_(i-1) + x_i) (x = +grant or -invoice amount), whose closed form
  B_i = S_i - min(0, min_(k<=i) S_k) over the running sum S needs only window functions.
  Finalized invoices keep the credits they were finalized with.
-#}
with

{{ ref_ctes({'lines': 'int_invoice_lines_draft'}, windowed=['lines']) }}

charge_subtotals as (

    select
        subscription_id, tenant_id, period_start, currency,
        count(*) as line_count,
        sum(amount) as subtotal_amount
    from lines
    group by subscription_id, tenant_id, period_start, currency

),

true_ups as (

    {{ subscription_period_sum('int_invoice_commit_true_ups', 'true_up_amount') }}

),

prepaid as (

    select
        subscription_id, tenant_id, period_start, currency,
        sum(commit_amount) as prepaid_amount
    from {{ ref('int_invoice_prepaid_commits') }}
    where {{ usage_window_filter('period_start', none) }}
    group by subscription_id, tenant_id, period_start, currency

),

invoice_keys as (

    {#- A prepaid commit's instalment is billed even in a period without a charge line. -#}
    select subscription_id, tenant_id, period_start, currency from charge_subtotals
    union
    select subscription_id, tenant_id, period_start, currency from prepaid

),

subtotals as (

    {#- A postpaid commit's true-up and a prepaid commit's instalment are part of the
        subtotal but come after the coupons, which apply to the charge lines only; the
        instalment is a prepayment, not taxed (what it pays for is taxed when billed).
        line_count counts the charge lines. -#}
    select
        invoice_keys.subscription_id,
        invoice_keys.tenant_id,
        invoice_keys.period_start,
        invoice_keys.currency,
        coalesce(charge_subtotals.line_count, 0) as line_count,
        coalesce(charge_subtotals.subtotal_amount, 0) + coalesce(true_ups.true_up_amount, 0)
            + coalesce(prepaid.prepaid_amount, 0) as subtotal_amount,
        coalesce(prepaid.prepaid_amount, 0) as prepaid_amount
    from invoice_keys
    left join charge_subtotals
        on {{ same_keys(
            'charge_subtotals', 'invoice_keys',
            ['subscription_id', 'tenant_id', 'period_start', 'currency']
        ) }}
    left join true_ups
        on true_ups.subscription_id = invoice_keys.subscription_id
        and true_ups.period_start = invoice_keys.period_start
    left join prepaid
        on {{ same_keys(
            'prepaid', 'invoice_keys', ['subscription_id', 'tenant_id', 'period_start', 'currency']
        ) }}

),

discounts as (

    {{ subscription_period_sum('int_invoice_discounts_draft', 'discount_amount') }}

),

tax_rates as (

    select tenant_rates.tenant_id, sum(rates.tax_percentage) as tax_rate_percentage
    from {{ ref('stg_control_plane__tenant_tax_rates') }} as tenant_rates
    inner join {{ ref('stg_control_plane__tax_rates') }} as rates
        on rates.tax_rate_code = tenant_rates.tax_rate_code
    where rates.archived_at is null
    group by tenant_rates.tenant_id

),

voided as (

    {#- Earlier issues of the same subscription and period that were voided. -#}
    select finalized.subscription_id, finalized.period_start, count(*) as voided_count
    from {{ ref('stg_invoicing__finalized_invoices') }} as finalized
    inner join {{ ref('stg_control_plane__invoice_voids') }} as voids
        on voids.invoice_id = finalized.invoice_id
    group by finalized.subscription_id, finalized.period_start

),

taxed as (

    select
        subtotals.*,
        coalesce(discounts.discount_amount, 0) as discount_amount,
        coalesce(tax_rates.tax_rate_percentage, 0) as tax_rate_percentage,
        {{ round_to_minor_unit(
            'greatest(subtotals.subtotal_amount - subtotals.prepaid_amount'
            ' - coalesce(discounts.discount_amount, 0), 0)'
            ' * coalesce(tax_rates.tax_rate_percentage, 0) * 0.01',
            'currencies.minor_unit') }} as tax_amount,
        1 + coalesce(voided.voided_count, 0) as issue_number

    from subtotals
    left join discounts
        on discounts.subscription_id = subtotals.subscription_id
        and discounts.period_start = subtotals.period_start
    left join tax_rates on tax_rates.tenant_id = subtotals.tenant_id
    left join {{ ref('currencies') }} as currencies
        on currencies.currency_code = subtotals.currency
    left join voided
        on voided.subscription_id = subtotals.subscription_id
        and voided.period_start = subtotals.period_start

),

drafts as (

    select
        *,
        subtotal_amount - discount_amount + tax_amount as amount_due_before_credits
    from taxed

),

finalized as (

    {{ unvoided_finalized_invoices() }}

),

credit_sequence as (

    {#- x: what each element adds to the tenant's credit balance. Grants sort first in their
        period, then invoices by subscription. -#}
    select
        tenant_id, currency, effective_period_start as period_start, 0 as kind_order,
        cast(credit_grant_id as {{ dbt.type_string() }}) as element_id,
        cast(null as {{ dbt.type_string() }}) as subscription_id,
        credit_amount as x_amount,
        cast(null as {{ money_amount_type() }}) as amount_due,
        cast(null as {{ money_amount_type() }}) as fixed_credit
    from {{ ref('stg_control_plane__credit_grants') }}

    union all

    select
        tenant_id, currency, period_start, 1, subscription_id, subscription_id,
        -amount_due_before_credits, amount_due_before_credits, credit_amount
    from finalized

    union all

    select
        tenant_id, currency, period_start, 1, subscription_id, subscription_id,
        -amount_due_before_credits, amount_due_before_credits, null
    from drafts

),

running as (

    select
        credit_sequence.*,
        sum(x_amount) over (
            partition by tenant_id, currency
            order by period_start, kind_order, element_id
            rows between unbounded preceding and current row
        ) as running_sum

    from credit_sequence

),

running_min as (

    select
        running.*,
        min(running_sum) over (
            partition by tenant_id, currency
            order by period_start, kind_order, element_id
            rows between unbounded preceding and 1 preceding
        ) as previous_min

    from running

),

credits as (

    select
        tenant_id, currency, period_start, subscription_id,
        {#- Balance before this invoice: S_(i-1) - min(0, min S_k over k < i). -#}
        (running_sum - x_amount) - least(0, coalesce(previous_min, 0)) as balance_before
    from running_min
    where kind_order = 1

),

final as (

    select
        drafts.subscription_id,
        drafts.tenant_id,
        drafts.period_start,
        cast({{ dbt.dateadd('month', 1, 'drafts.period_start') }} as date) as period_end,
        drafts.issue_number,
        substr({{ dbt.hash("'inv|' || drafts.subscription_id || '|' || cast(drafts.period_start "
                           "as " ~ dbt.type_string() ~ ") || '|' || cast(drafts.issue_number as "
                           ~ dbt.type_string() ~ ")") }}, 1, 20) as invoice_hash,
        drafts.currency,
        drafts.line_count,
        cast(drafts.subtotal_amount as {{ money_amount_type() }}) as subtotal_amount,
        cast(drafts.discount_amount as {{ money_amount_type() }}) as discount_amount,
        cast(drafts.tax_rate_percentage as numeric(12, 6)) as tax_rate_percentage,
        cast(drafts.tax_amount as {{ money_amount_type() }}) as tax_amount,
        cast(drafts.amount_due_before_credits as {{ money_amount_type() }})
            as amount_due_before_credits,
        cast(
            case
                when drafts.amount_due_before_credits < 0 then drafts.amount_due_before_credits
                else least(drafts.amount_due_before_credits, credits.balance_before)
            end as {{ money_amount_type() }}
        ) as credit_amount

    from drafts
    inner join credits
        on {{ same_keys(
            'credits', 'drafts', ['tenant_id', 'currency', 'period_start', 'subscription_id']
        ) }}

)

select
    'inv_' || invoice_hash as invoice_id,
    subscription_id,
    tenant_id,
    period_start,
    period_end,
    issue_number,
    currency,
    line_count,
    subtotal_amount,
    discount_amount,
    tax_rate_percentage,
    tax_amount,
    amount_due_before_credits,
    credit_amount,
    cast(amount_due_before_credits - credit_amount as {{ money_amount_type() }}) as total_amount
from final
