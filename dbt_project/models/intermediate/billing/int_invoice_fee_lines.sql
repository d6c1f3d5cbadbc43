{{ billing_period_config(delete_window=true) }}

{#-
  Base-fee lines of every subscription and billing period, from the effective-dated phases:

  * the base fee of the plan in force when the fee starts in the period (the period start, or
    the subscription's start or trial end if later), prorated by days when that is after the
    period start;
  * for each plan change inside the period, a credit for the unused part of the old fee and a
    charge for the new one, from the change day;
  * for a cancellation inside the period, a credit for the unused part.

  Proration: remaining days including the change day / days in the period, or, for a plan whose
  base fee is prorated by the second, remaining whole seconds / seconds in the period; each
  plan's fee by its own plan's unit (share_remaining / share_whole, the same rule as
  billing.rules.proration.prorate_at). Each line is rounded half-up on its own. A change
  exactly at the period start is not prorated: the period simply begins on the new plan.

  A phase's base fee is the plan's unless the subscription's override version in force when the
  phase starts in the period (the latest one, not superseded, effective at or before then) was
  made for the phase's plan and sets a base fee.
-#}
with

{{ ref_ctes({
    'subscription_periods': 'int_subscription_periods',
    'phases': 'stg_control_plane__subscription_phases',
    'plans': 'stg_control_plane__plans',
    'currencies': 'currencies',
    'override_versions': 'stg_control_plane__override_versions',
}, windowed=['subscription_periods']) }}

fee_spans as (

    select
        subscription_periods.*,
        greatest(
            cast(subscription_periods.period_start as timestamp),
            case
                when subscription_periods.trial_ends_at > subscription_periods.started_at
                    then subscription_periods.trial_ends_at
                else subscription_periods.started_at
            end
        ) as span_start,
        least(
            cast(subscription_periods.period_end as timestamp),
            coalesce(subscription_periods.cancel_at,
                     cast(subscription_periods.period_end as timestamp))
        ) as span_end

    from subscription_periods

),

billable_spans as (

    select * from fee_spans where span_start < span_end

),

span_phases as (

    select
        billable_spans.subscription_id,
        billable_spans.tenant_id,
        billable_spans.period_start,
        billable_spans.period_end,
        billable_spans.span_start,
        billable_spans.span_end,
        billable_spans.cancel_at,
        phases.phase_id,
        phases.plan_id,
        phases.starts_at,
        phases.ends_at,
        plans.plan_code,
        plans.plan_version,
        plans.base_fee_amount as plan_base_fee_amount,
        plans.base_fee_timing,
        plans.base_fee_proration,
        plans.currency,
        currencies.minor_unit,
        case
            when phases.starts_at > cast(billable_spans.period_start as timestamp)
                then phases.starts_at
            else cast(billable_spans.period_start as timestamp)
        end as fee_from,
        lag(phases.plan_id) over (
            partition by billable_spans.subscription_id, billable_spans.period_start
            order by phases.starts_at, phases.phase_id
        ) as previous_plan_id

    from billable_spans
    inner join phases
        on phases.subscription_id = billable_spans.subscription_id
        and phases.starts_at < billable_spans.span_end
        and (phases.ends_at is null or phases.ends_at > billable_spans.span_start)
    inner join plans on plans.plan_id = phases.plan_id
    left join currencies on currencies.currency_code = plans.currency

),

phase_override_versions as (

    select
        span_phases.subscription_id,
        span_phases.period_start,
        span_phases.phase_id,
        override_versions.plan_id as override_plan_id,
        override_versions.base_fee_amount as override_base_fee_amount,
        row_number() over (
            partition by span_phases.subscription_id, span_phases.period_start,
                span_phases.phase_id
            order by override_versions.effective_from desc, override_versions.override_version desc
        ) as version_rank

    from span_phases
    inner join override_versions
        on override_versions.subscription_id = span_phases.subscription_id
        and override_versions.superseded_at is null
        and override_versions.effective_from <= span_phases.fee_from

),

priced_phases as (

    select
        span_phases.*,
        case
            when phase_override_versions.override_plan_id = span_phases.plan_id
                and phase_override_versions.override_base_fee_amount is not null
                then phase_override_versions.override_base_fee_amount
            else span_phases.plan_base_fee_amount
        end as base_fee_amount

    from span_phases
    left join phase_override_versions
        on phase_override_versions.subscription_id = span_phases.subscription_id
        and phase_override_versions.period_start = span_phases.period_start
        and phase_override_versions.phase_id = span_phases.phase_id
        and phase_override_versions.version_rank = 1

),

with_previous as (

    select
        priced_phases.*,
        previous_plans.plan_code as previous_plan_code,
        previous_plans.plan_version as previous_plan_version,
        lag(priced_phases.base_fee_amount) over (
            partition by priced_phases.subscription_id, priced_phases.period_start
            order by priced_phases.starts_at, priced_phases.phase_id
        ) as previous_base_fee_amount,
        {{ share_whole('priced_phases.base_fee_proration', 'priced_phases.period_start',
                       'priced_phases.period_end') }} as period_share_whole,
        {{ share_remaining('priced_phases.base_fee_proration', 'priced_phases.starts_at',
                           'priced_phases.period_end') }} as share_from_start,
        {{ share_remaining('priced_phases.base_fee_proration', 'priced_phases.span_start',
                           'priced_phases.period_end') }} as share_from_span_start,
        {{ share_text('priced_phases.base_fee_proration', 'priced_phases.starts_at',
                      'priced_phases.period_start', 'priced_phases.period_end') }}
            as share_from_start_text,
        {{ share_text('priced_phases.base_fee_proration', 'priced_phases.span_start',
                      'priced_phases.period_start', 'priced_phases.period_end') }}
            as share_from_span_start_text,
        {{ share_whole('previous_plans.base_fee_proration', 'priced_phases.period_start',
                       'priced_phases.period_end') }} as previous_share_whole,
        {{ share_remaining('previous_plans.base_fee_proration', 'priced_phases.starts_at',
                           'priced_phases.period_end') }} as previous_share_from_start,
        {{ share_text('previous_plans.base_fee_proration', 'priced_phases.starts_at',
                      'priced_phases.period_start', 'priced_phases.period_end') }}
            as previous_share_text

    from priced_phases
    left join plans as previous_plans on previous_plans.plan_id = priced_phases.previous_plan_id

),

base_fee_lines as (

    select
        subscription_id, tenant_id, period_start, plan_id, currency,
        'base_fee' as line_kind,
        plan_code || ' v' || cast(plan_version as {{ dbt.type_string() }}) || ' base fee'
            || case when span_start > cast(period_start as timestamp)
                    then ' (' || share_from_span_start_text || ')'
                    else '' end
            as description,
        case
            when span_start > cast(period_start as timestamp)
                then {{ prorated_amount('base_fee_amount', 'share_from_span_start',
                                        'period_share_whole', 'minor_unit') }}
            else {{ round_to_minor_unit('base_fee_amount', 'minor_unit') }}
        end as amount,
        1 as line_order

    from with_previous
    where starts_at <= span_start

),

change_credit_lines as (

    select
        subscription_id, tenant_id, period_start, previous_plan_id as plan_id, currency,
        'proration_credit' as line_kind,
        'Unused time on ' || previous_plan_code || ' v'
            || cast(previous_plan_version as {{ dbt.type_string() }}) || ' ('
            || previous_share_text || ')' as description,
        -{{ prorated_amount('previous_base_fee_amount', 'previous_share_from_start',
                            'previous_share_whole', 'minor_unit') }} as amount,
        2 as line_order

    from with_previous
    where starts_at > span_start and previous_plan_id is not null

),

change_charge_lines as (

    select
        subscription_id, tenant_id, period_start, plan_id, currency,
        'proration_charge' as line_kind,
        'Remaining time on ' || plan_code || ' v' || cast(plan_version as {{ dbt.type_string() }})
            || ' (' || share_from_start_text || ')' as description,
        {{ prorated_amount('base_fee_amount', 'share_from_start', 'period_share_whole',
                           'minor_unit') }} as amount,
        3 as line_order

    from with_previous
    where starts_at > span_start and previous_plan_id is not null

),

cancel_credit_lines as (

    select
        subscription_id, tenant_id, period_start, plan_id, currency,
        'proration_credit' as line_kind,
        'Unused time on ' || plan_code || ' v' || cast(plan_version as {{ dbt.type_string() }})
            || ' after cancellation ('
            || {{ share_text('base_fee_proration', 'cancel_at', 'period_start', 'period_end') }}
            || ')' as description,
        -{{ prorated_amount(
            'base_fee_amount',
            share_remaining('base_fee_proration', 'cancel_at', 'period_end'),
            'period_share_whole', 'minor_unit') }} as amount,
        4 as line_order

    from with_previous
    where cancel_at is not null
        and cancel_at > span_start
        and cancel_at < cast(period_end as timestamp)
        and starts_at < cancel_at
        and coalesce(ends_at, cancel_at) >= cancel_at

),

unioned as (

    select * from base_fee_lines
    union all
    select * from change_credit_lines
    union all
    select * from change_charge_lines
    union all
    select * from cancel_credit_lines

),

final as (

    select
        subscription_id,
        tenant_id,
        period_start,
        plan_id,
        currency,
        line_kind,
        description,
        cast(amount as {{ money_amount_type() }}) as amount,
        line_order

    from unioned
    where amount <> 0 or line_kind = 'base_fee'

)

select * from final
