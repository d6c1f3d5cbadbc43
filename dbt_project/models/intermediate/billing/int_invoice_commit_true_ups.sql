{{ billing_period_config(delete_window=true) }}

{#-
  Postpaid commit true-ups: for each contract with a commit, on the draft invoice of its
  subscription for the term's last period, the commit (rounded to the currency's minor unit)
  less what the term billed, when that is short. What the term billed: the subtotal after
  discounts (before tax and credits) of every invoice of the tenant in the contract's currency
  for the term's periods (every subscription of the tenant), the finalized invoice where there
  is one, else the draft; the last period's own lines included, the true-up itself not. Read
  from the whole draft tables (not only the build window), so a term whose earlier periods are
  still drafts counts them as they stand.
-#}
with

contracts as (

    select
        contracts.*,
        cast({{ dbt.dateadd('month', -1, 'contracts.ends_on') }} as date) as last_period_start,
        {{ round_to_minor_unit('contracts.postpaid_commit_amount', 'currencies.minor_unit') }}
            as commit_amount

    from {{ ref('stg_control_plane__contracts') }} as contracts
    left join {{ ref('currencies') }} as currencies
        on currencies.currency_code = contracts.currency
    where contracts.postpaid_commit_amount is not null

),

finalized as (

    {{ unvoided_finalized_invoices() }}

),

finalized_true_ups as (

    select lines.invoice_id, sum(lines.amount) as true_up_amount
    from {{ ref('stg_invoicing__finalized_invoice_lines') }} as lines
    where lines.line_kind = 'commit_true_up'
    group by lines.invoice_id

),

draft_subtotals as (

    {#- Draft invoices of periods not finalized (the table may still hold a period finalized
        since its last build). -#}
    select
        lines.subscription_id, lines.tenant_id, lines.period_start, lines.currency,
        sum(lines.amount) as subtotal_amount

    from {{ ref('int_invoice_lines_draft') }} as lines
    left join finalized
        on finalized.subscription_id = lines.subscription_id
        and finalized.period_start = lines.period_start
    where finalized.invoice_id is null
    group by lines.subscription_id, lines.tenant_id, lines.period_start, lines.currency

),

draft_discounts as (

    select subscription_id, period_start, sum(discount_amount) as discount_amount
    from {{ ref('int_invoice_discounts_draft') }}
    group by subscription_id, period_start

),

term_invoices as (

    select
        contracts.contract_id,
        finalized.subtotal_amount - finalized.discount_amount
            - coalesce(finalized_true_ups.true_up_amount, 0) as billed_amount

    from contracts
    inner join finalized
        on finalized.tenant_id = contracts.tenant_id
        and finalized.currency = contracts.currency
        and finalized.period_start >= contracts.starts_on
        and finalized.period_start < contracts.ends_on
    left join finalized_true_ups on finalized_true_ups.invoice_id = finalized.invoice_id

    union all

    select
        contracts.contract_id,
        drafts.subtotal_amount - coalesce(draft_discounts.discount_amount, 0) as billed_amount

    from contracts
    inner join draft_subtotals as drafts
        on drafts.tenant_id = contracts.tenant_id
        and drafts.currency = contracts.currency
        and drafts.period_start >= contracts.starts_on
        and drafts.period_start < contracts.ends_on
    left join draft_discounts
        on draft_discounts.subscription_id = drafts.subscription_id
        and draft_discounts.period_start = drafts.period_start

),

billed as (

    select contract_id, sum(billed_amount) as billed_amount
    from term_invoices
    group by contract_id

),

final as (

    select
        contracts.subscription_id,
        contracts.tenant_id,
        contracts.last_period_start as period_start,
        contracts.contract_id,
        contracts.starts_on,
        contracts.ends_on,
        contracts.currency,
        cast(contracts.commit_amount as {{ money_amount_type() }}) as commit_amount,
        cast(coalesce(billed.billed_amount, 0) as {{ money_amount_type() }}) as billed_amount,
        cast(
            contracts.commit_amount - coalesce(billed.billed_amount, 0)
            as {{ money_amount_type() }}
        ) as true_up_amount

    from contracts
    inner join draft_subtotals as last_invoice
        on last_invoice.subscription_id = contracts.subscription_id
        and last_invoice.period_start = contracts.last_period_start
    left join billed on billed.contract_id = contracts.contract_id
    where {{ usage_window_filter('contracts.last_period_start', none) }}
        and contracts.commit_amount > coalesce(billed.billed_amount, 0)

)

select * from final
