{{ config(contract={'enforced': true}) }}

{#-
  One row per subscription and calendar month (UTC) at whose end it is paying: started, out of
  its trial and not yet cancelled at the month's last instant. Its MRR is

  * the fixed part: the base fee of the phase in force at the month's end (the subscription's
    override base fee if its override version in force then was made for that plan), normalised
    to one month from the plan's billing interval (fee_over_months); ARR annualises the same fee;
  * the usage part: the usage billed for the previous month (usage, minimum-commitment and
    usage-adjustment lines of its non-void invoices whose service period is that month, in the
    plan's currency; never below zero). A month's own usage is only known once it ends.

  Before coupons and tax. Definitions and worked examples: _analytics__models.yml.
-#}
with

{{ ref_ctes({
    'subscription_periods': 'int_subscription_periods',
    'plans': 'stg_control_plane__plans',
    'invoices': 'fct_invoices',
    'invoice_lines': 'fct_invoice_lines',
}) }}

paying as (

    {#- The plan of the last phase overlapping the month is the one in force at its end. -#}
    select
        subscription_id,
        tenant_id,
        period_start as month_start,
        cast(period_end as timestamp) as month_end_at,
        plan_id

    from subscription_periods
    where (trial_ends_at is null or trial_ends_at < cast(period_end as timestamp))
        and (cancel_at is null or cancel_at >= cast(period_end as timestamp))

),

override_versions as (

    select
        subscription_id,
        effective_from,
        override_version,
        plan_id as override_plan_id,
        base_fee_amount as override_base_fee_amount

    from {{ ref('stg_control_plane__override_versions') }}
    where superseded_at is null

),

month_end_overrides as (

    select
        paying.subscription_id,
        paying.month_start,
        {{ last_row_aggregate('latest', ['override_plan_id', 'override_base_fee_amount'],
                              ['override_versions.effective_from',
                               'override_versions.override_version'], 'true') }}

    from paying
    inner join override_versions
        on override_versions.subscription_id = paying.subscription_id
        and override_versions.effective_from < paying.month_end_at
    group by paying.subscription_id, paying.month_start

),

fees as (

    select
        paying.subscription_id,
        paying.tenant_id,
        paying.month_start,
        paying.plan_id,
        plans.currency,
        plans.billing_interval,
        1 as interval_count,
        {#- The override's base fee when the version in force was made for this plan. -#}
        coalesce(
            case when month_end_overrides.latest_override_plan_id = paying.plan_id
                 then month_end_overrides.latest_override_base_fee_amount end,
            plans.base_fee_amount
        ) as base_fee_amount

    from paying
    inner join plans on plans.plan_id = paying.plan_id
    left join (
        select
            subscription_id,
            month_start,
            {{ last_row_columns('latest', ['override_plan_id', 'override_base_fee_amount']) }}
        from month_end_overrides
    ) as month_end_overrides
        on month_end_overrides.subscription_id = paying.subscription_id
        and month_end_overrides.month_start = paying.month_start

),

billed_usage as (

    select
        invoices.subscription_id,
        invoices.currency,
        invoice_lines.service_period_start,
        sum(invoice_lines.amount) as usage_amount

    from invoice_lines
    inner join invoices on invoices.invoice_id = invoice_lines.invoice_id
    where invoices.status <> 'void'
        and invoice_lines.line_kind in ('usage', 'minimum_commitment', 'usage_adjustment')
    group by invoices.subscription_id, invoices.currency, invoice_lines.service_period_start

),

normalised as (

    select
        fees.*,
        {{ fee_over_months('fees.base_fee_amount', 'fees.billing_interval', 'fees.interval_count', 1) }}
            as fixed_mrr_amount,
        {{ fee_over_months('fees.base_fee_amount', 'fees.billing_interval', 'fees.interval_count', 12) }}
            as fixed_arr_amount,
        case
            when billed_usage.usage_amount > 0 then billed_usage.usage_amount else 0
        end as usage_mrr_amount

    from fees
    left join billed_usage
        on billed_usage.subscription_id = fees.subscription_id
        and billed_usage.currency = fees.currency
        and billed_usage.service_period_start
            = cast({{ dbt.dateadd('month', -1, 'fees.month_start') }} as date)

)

select
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(month_start as date) as month_start,
    cast(plan_id as bigint) as plan_id,
    cast(billing_interval as {{ dbt.type_string() }}) as billing_interval,
    cast(interval_count as integer) as interval_count,
    {{ cast_columns(['base_fee_amount', 'fixed_mrr_amount', 'usage_mrr_amount'],
                    money_amount_type()) }},
    cast(fixed_mrr_amount + usage_mrr_amount as {{ money_amount_type() }}) as mrr_amount,
    cast(fixed_arr_amount + 12 * usage_mrr_amount as {{ money_amount_type() }}) as arr_amount
from normalised
