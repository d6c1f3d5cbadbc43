{{ billing_period_config(delete_window=true) }}

{#-
  Every usage charge of every subscription and billing period, rated by the plan in force on
  the period's usage aggregate, with the pricing engine's rules (macros/pricing.sql, the same
  rules as the API's ingestion/pricing.py). A tenant's usage of a meter in a period is billed
  once: by the latest-started subscription whose plan charges that meter. Incremental by period.
-#}
with

{{ ref_ctes({
    'subscription_periods': 'int_subscription_periods',
    'charges': 'stg_control_plane__plan_charges',
}, windowed=['subscription_periods']) }}

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
        charges.meter_key,
        charges.price_model,
        charges.minimum_amount,
        coalesce(usage.quantity, 0) as quantity,
        row_number() over (
            partition by subscription_periods.tenant_id, charges.meter_key,
                subscription_periods.period_start
            order by subscription_periods.started_at desc, subscription_periods.subscription_id
        ) as billing_rank

    from subscription_periods
    inner join charges
        on charges.plan_id = subscription_periods.plan_id
    left join usage
        on usage.tenant_id = subscription_periods.tenant_id
        and usage.meter_key = charges.meter_key
        and usage.period_start = subscription_periods.period_start

),

billed_quantities as (

    select * from charge_quantities where billing_rank = 1

),

priced_charges as (

    select
        charges.charge_id,
        charges.price_model,
        charges.unit_amount,
        charges.package_size,
        charges.flat_amount,
        charges.free_units,
        plans.currency

    from charges
    inner join {{ ref('stg_control_plane__plans') }} as plans
        on plans.plan_id = charges.plan_id

),

rated as (

    {{ rate_quantities(
        'billed_quantities',
        'priced_charges',
        ref('stg_control_plane__plan_charge_tiers'),
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
        and rated.charge_id = billed_quantities.charge_id

)

select * from final
