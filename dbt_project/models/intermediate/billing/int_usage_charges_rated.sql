{{ billing_period_config(delete_window=true) }}

{#-
  Every usage charge of every subscription and billing period, rated by the plan in force on
  the period's usage aggregate, with the pricing engine's rules (macros/pricing.sql, the same
  rules as the API's ingestion/pricing.py). A tenant's usage of a meter in a period is billed
  once: by the latest-started subscription whose plan charges that meter. Incremental by period.

  Per-subscription overrides: the override version in force for the period is the latest one
  (not superseded, made for the period's plan) effective before the period ends; a charge it
  overrides is rated with the plan charge's fields replaced by the override's non-null ones
  (its tiers replace all of the plan's when it has any). Each distinct price is rated under its
  own key: 'c<charge_id>' for a plan's price, 'o<charge_override_id>' for an overridden one.
-#}
with

{{ ref_ctes({
    'subscription_periods': 'int_subscription_periods',
    'charges': 'stg_control_plane__plan_charges',
    'plan_tiers': 'stg_control_plane__plan_charge_tiers',
    'override_versions': 'stg_control_plane__override_versions',
    'charge_overrides': 'stg_control_plane__charge_overrides',
    'override_tiers': 'stg_control_plane__charge_override_tiers',
}, windowed=['subscription_periods']) }}

period_override_versions as (

    select
        subscription_periods.subscription_id,
        subscription_periods.period_start,
        override_versions.override_version_id,
        row_number() over (
            partition by subscription_periods.subscription_id, subscription_periods.period_start
            order by override_versions.effective_from desc, override_versions.override_version desc
        ) as version_rank

    from subscription_periods
    inner join override_versions
        on override_versions.subscription_id = subscription_periods.subscription_id
        and override_versions.plan_id = subscription_periods.plan_id
        and override_versions.superseded_at is null
        and override_versions.effective_from < cast(subscription_periods.period_end as timestamp)

),

period_overrides as (

    select
        period_override_versions.subscription_id,
        period_override_versions.period_start,
        charge_overrides.*

    from period_override_versions
    inner join charge_overrides
        on charge_overrides.override_version_id = period_override_versions.override_version_id
    where period_override_versions.version_rank = 1

),

usage as (

    select tenant_id, meter_key, period_start, quantity
    from {{ ref('fct_usage_period') }}
    where {{ usage_window_filter('period_start', none) }}

),

charge_quantities as (

    select
        subscription_periods.subscription_id
            || '|' || cast(subscription_periods.period_start as {{ dbt.type_string() }})
            || '|' || cast(charges.charge_id as {{ dbt.type_string() }}) as rating_id,
        subscription_periods.subscription_id,
        subscription_periods.tenant_id,
        subscription_periods.period_start,
        subscription_periods.plan_id,
        subscription_periods.currency,
        subscription_periods.started_at,
        charges.charge_id,
        case
            when period_overrides.charge_override_id is null
                then 'c' || cast(charges.charge_id as {{ dbt.type_string() }})
            else 'o' || cast(period_overrides.charge_override_id as {{ dbt.type_string() }})
        end as price_key,
        charges.meter_key,
        charges.price_model,
        coalesce(period_overrides.minimum_amount, charges.minimum_amount) as minimum_amount,
        coalesce(usage.quantity, 0) as quantity,
        row_number() over (
            partition by subscription_periods.tenant_id, charges.meter_key,
                subscription_periods.period_start
            order by subscription_periods.started_at desc, subscription_periods.subscription_id
        ) as billing_rank

    from subscription_periods
    inner join charges
        on charges.plan_id = subscription_periods.plan_id
    left join period_overrides
        on period_overrides.subscription_id = subscription_periods.subscription_id
        and period_overrides.period_start = subscription_periods.period_start
        and period_overrides.charge_id = charges.charge_id
    left join usage
        on usage.tenant_id = subscription_periods.tenant_id
        and usage.meter_key = charges.meter_key
        and usage.period_start = subscription_periods.period_start

),

billed_quantities as (

    select * from charge_quantities where billing_rank = 1

),

rating_quantities as (

    select rating_id, price_key as charge_id, quantity from billed_quantities

),

priced_charges as (

    select
        'c' || cast(charges.charge_id as {{ dbt.type_string() }}) as charge_id,
        charges.price_model,
        charges.unit_amount,
        charges.package_size,
        charges.flat_amount,
        charges.free_units,
        plans.currency

    from charges
    inner join {{ ref('stg_control_plane__plans') }} as plans
        on plans.plan_id = charges.plan_id

    union all

    select
        'o' || cast(overrides.charge_override_id as {{ dbt.type_string() }}) as charge_id,
        charges.price_model,
        coalesce(overrides.unit_amount, charges.unit_amount) as unit_amount,
        coalesce(overrides.package_size, charges.package_size) as package_size,
        coalesce(overrides.flat_amount, charges.flat_amount) as flat_amount,
        coalesce(overrides.free_units, charges.free_units) as free_units,
        plans.currency

    from charge_overrides as overrides
    inner join charges on charges.charge_id = overrides.charge_id
    inner join {{ ref('stg_control_plane__plans') }} as plans
        on plans.plan_id = charges.plan_id

),

priced_tiers as (

    select
        'c' || cast(charge_id as {{ dbt.type_string() }}) as charge_id,
        tier_index, up_to, unit_amount, flat_amount
    from plan_tiers

    union all

    select
        'o' || cast(overrides.charge_override_id as {{ dbt.type_string() }}) as charge_id,
        override_tiers.tier_index, override_tiers.up_to, override_tiers.unit_amount,
        override_tiers.flat_amount
    from charge_overrides as overrides
    inner join override_tiers
        on override_tiers.charge_override_id = overrides.charge_override_id
    where overrides.has_tiers

    union all

    select
        'o' || cast(overrides.charge_override_id as {{ dbt.type_string() }}) as charge_id,
        plan_tiers.tier_index, plan_tiers.up_to, plan_tiers.unit_amount, plan_tiers.flat_amount
    from charge_overrides as overrides
    inner join plan_tiers on plan_tiers.charge_id = overrides.charge_id
    where not overrides.has_tiers

),

rated as (

    {{ rate_quantities(
        'rating_quantities',
        'priced_charges',
        'priced_tiers',
        ref('currencies'),
    ) }}

),

final as (

    select
        billed_quantities.subscription_id,
        billed_quantities.tenant_id,
        billed_quantities.period_start,
        billed_quantities.plan_id,
        billed_quantities.charge_id,
        billed_quantities.meter_key,
        billed_quantities.price_model,
        cast(billed_quantities.quantity as {{ quantity_type() }}) as quantity,
        billed_quantities.currency,
        rated.unrounded_amount,
        rated.amount,
        billed_quantities.minimum_amount

    from billed_quantities
    inner join rated
        on rated.rating_id = billed_quantities.rating_id
        and rated.charge_id = billed_quantities.price_key

)

select * from final
