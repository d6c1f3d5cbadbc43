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
    'subscriptions': 'stg_control_plane__subscriptions',
    'phases': 'stg_control_plane__subscription_phases',
    'plans': 'stg_control_plane__plans',
    'override_versions': 'stg_control_plane__override_versions',
    'months': 'int_billing_periods',
    'invoices': 'fct_invoices',
    'invoice_lines': 'fct_invoice_lines',
}) }}

paying as (

    select
        subscriptions.subscription_id,
        subscriptions.tenant_id,
        months.period_start as month_start,
        cast(months.period_end as timestamp) as month_end_at

    from subscriptions
    inner join months
        on subscriptions.started_at < cast(months.period_end as timestamp)
        and (subscriptions.trial_ends_at is null
             or subscriptions.trial_ends_at < cast(months.period_end as timestamp))
        and (subscriptions.cancel_at is null
             or subscriptions.cancel_at >= cast(months.period_end as timestamp))

),

month_end_phases as (

    select
        paying.*,
        phases.plan_id,
        row_number() over (
            partition by paying.subscription_id, paying.month_start
            order by phases.starts_at desc, phases.phase_id desc
        ) as phase_rank

    from paying
    inner join phases
        on phases.subscription_id = paying.subscription_id
        and phases.starts_at < paying.month_end_at
        and (phases.ends_at is null or phases.ends_at >= paying.month_end_at)

),

month_end_overrides as (

    select
        month_end_phases.subscription_id,
        month_end_phases.month_start,
        override_versions.plan_id,
        override_versions.base_fee_amount,
        row_number() over (
            partition by month_end_phases.subscription_id, month_end_phases.month_start
            order by override_versions.effective_from desc, override_versions.override_version desc
        ) as version_rank

    from month_end_phases
    inner join override_versions
        on override_versions.subscription_id = month_end_phases.subscription_id
        and override_versions.superseded_at is null
        and override_versions.effective_from < month_end_phases.month_end_at
    where month_end_phases.phase_rank = 1

),

fees as (

    select
        month_end_phases.subscription_id,
        month_end_phases.tenant_id,
        month_end_phases.month_start,
        month_end_phases.plan_id,
        plans.currency,
        plans.billing_interval,
        1 as interval_count,
        case
            when month_end_overrides.plan_id = month_end_phases.plan_id
                and month_end_overrides.base_fee_amount is not null
                then month_end_overrides.base_fee_amount
            else plans.base_fee_amount
        end as base_fee_amount

    from month_end_phases
    inner join plans on plans.plan_id = month_end_phases.plan_id
    left join month_end_overrides
        on month_end_overrides.subscription_id = month_end_phases.subscription_id
        and month_end_overrides.month_start = month_end_phases.month_start
        and month_end_overrides.version_rank = 1
    where month_end_phases.phase_rank = 1

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
    cast(base_fee_amount as {{ money_amount_type() }}) as base_fee_amount,
    cast(fixed_mrr_amount as {{ money_amount_type() }}) as fixed_mrr_amount,
    cast(usage_mrr_amount as {{ money_amount_type() }}) as usage_mrr_amount,
    cast(fixed_mrr_amount + usage_mrr_amount as {{ money_amount_type() }}) as mrr_amount,
    cast(fixed_arr_amount + 12 * usage_mrr_amount as {{ money_amount_type() }}) as arr_amount
from normalised
