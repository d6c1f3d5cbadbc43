{{ config(materialized='ephemeral') }}

{#-
  One row per subscription and billing period it is active in (it started before the period
  ends and ends after it starts), with the plan in force for the period's usage: the plan of
  the last phase overlapping the period.
-#}
with

{{ ref_ctes({
    'subscriptions': 'stg_control_plane__subscriptions',
    'phases': 'stg_control_plane__subscription_phases',
}) }}

plans as (

    select plan_id, currency from {{ ref('stg_control_plane__plans') }}

),

periods as (

    select * from {{ ref('int_billing_periods') }}

),

active as (

    select
        subscriptions.subscription_id,
        subscriptions.tenant_id,
        subscriptions.started_at,
        subscriptions.trial_ends_at,
        subscriptions.cancel_at,
        periods.period_start,
        periods.period_end

    from subscriptions
    inner join periods
        on subscriptions.started_at < cast(periods.period_end as timestamp)
        and (
            subscriptions.cancel_at is null
            or subscriptions.cancel_at > cast(periods.period_start as timestamp)
        )

),

phase_in_force as (

    select
        active.*,
        phases.plan_id,
        row_number() over (
            partition by active.subscription_id, active.period_start
            order by phases.starts_at desc, phases.phase_id desc
        ) as phase_rank

    from active
    inner join phases
        on phases.subscription_id = active.subscription_id
        and phases.starts_at < cast(active.period_end as timestamp)
        and (phases.ends_at is null or phases.ends_at > cast(active.period_start as timestamp))

),

final as (

    select
        phase_in_force.subscription_id,
        phase_in_force.tenant_id,
        phase_in_force.period_start,
        phase_in_force.period_end,
        phase_in_force.plan_id,
        plans.currency,
        phase_in_force.started_at,
        phase_in_force.trial_ends_at,
        phase_in_force.cancel_at

    from phase_in_force
    inner join plans on plans.plan_id = phase_in_force.plan_id
    where phase_in_force.phase_rank = 1

)

select * from final
