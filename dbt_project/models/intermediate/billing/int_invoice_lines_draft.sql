{{ billing_period_config(delete_window=true) }}

{#-
  Lines of the draft invoice of every subscription and billing period not yet finalized:
  base-fee and proration lines, usage charges, minimum-commitment true-ups, and usage
  adjustments. An adjustment carries, to the first unfinalized period after it, the change in a
  finalized period's usage charge since it was billed (usage that landed after finalization,
  re-rated with the period's whole aggregate): finalized invoices are never rewritten.
-#}
with

periods as (

    select * from {{ ref('int_billing_periods') }}

),

finalized as (

    {{ unvoided_finalized_invoices() }}

),

finalized_lines as (

    select lines.*, finalized.subscription_id, finalized.period_start as invoice_period_start
    from {{ ref('stg_invoicing__finalized_invoice_lines') }} as lines
    inner join finalized on finalized.invoice_id = lines.invoice_id

),

{{ ref_ctes({
    'fee_lines': 'int_invoice_fee_lines',
    'rated': 'int_usage_charges_rated',
    'currencies': 'currencies',
}, windowed=['fee_lines']) }}

charge_totals as (

    {#- What each usage charge comes to now, true-up included, for every period. -#}
    select
        rated.subscription_id,
        rated.tenant_id,
        rated.period_start,
        rated.plan_id,
        rated.charge_id,
        rated.meter_key,
        rated.price_model,
        rated.quantity,
        rated.currency,
        rated.amount,
        case
            when rated.minimum_amount is not null
                and {{ round_to_minor_unit('rated.minimum_amount', 'currencies.minor_unit') }}
                    > rated.amount
                then {{ round_to_minor_unit('rated.minimum_amount', 'currencies.minor_unit') }}
                    - rated.amount
            else 0
        end as true_up_amount

    from rated
    left join currencies on currencies.currency_code = rated.currency

),

usage_lines as (

    select
        subscription_id, tenant_id, period_start, period_start as service_period_start,
        plan_id, charge_id, meter_key, quantity, currency,
        'usage' as line_kind,
        meter_key || ' (' || price_model || ')' as description,
        amount,
        10 as line_order

    from charge_totals
    where {{ usage_window_filter('period_start', none) }}

),

true_up_lines as (

    select
        subscription_id, tenant_id, period_start, period_start as service_period_start,
        plan_id, charge_id, meter_key, cast(null as {{ quantity_type() }}) as quantity, currency,
        'minimum_commitment' as line_kind,
        meter_key || ' minimum commitment true-up' as description,
        true_up_amount as amount,
        11 as line_order

    from charge_totals
    where {{ usage_window_filter('period_start', none) }}
        and true_up_amount > 0

),

billed as (

    {#- What was billed for each finalized period's usage charge: on its own invoice and in
        adjustments on later ones. -#}
    select
        subscription_id,
        service_period_start as period_start,
        charge_id,
        sum(amount) as billed_amount

    from finalized_lines
    where line_kind in ('usage', 'minimum_commitment', 'usage_adjustment')
    group by subscription_id, service_period_start, charge_id

),

deltas as (

    select
        charge_totals.subscription_id,
        charge_totals.tenant_id,
        charge_totals.period_start as service_period_start,
        charge_totals.plan_id,
        charge_totals.charge_id,
        charge_totals.meter_key,
        charge_totals.quantity,
        charge_totals.currency,
        charge_totals.amount + charge_totals.true_up_amount
            - coalesce(billed.billed_amount, 0) as delta_amount

    from charge_totals
    inner join finalized
        on finalized.subscription_id = charge_totals.subscription_id
        and finalized.period_start = charge_totals.period_start
    left join billed
        on {{ same_keys('billed', 'charge_totals', ['subscription_id', 'period_start', 'charge_id']) }}

),

adjustment_targets as (

    {#- The first period after the adjusted one that has no finalized invoice. -#}
    select
        deltas.subscription_id,
        deltas.service_period_start,
        min(periods.period_start) as period_start

    from deltas
    inner join periods on periods.period_start > deltas.service_period_start
    left join finalized
        on finalized.subscription_id = deltas.subscription_id
        and finalized.period_start = periods.period_start
    where deltas.delta_amount <> 0
        and finalized.invoice_id is null
    group by deltas.subscription_id, deltas.service_period_start

),

adjustment_lines as (

    select
        deltas.subscription_id, deltas.tenant_id, adjustment_targets.period_start,
        deltas.service_period_start, deltas.plan_id, deltas.charge_id, deltas.meter_key,
        deltas.quantity, deltas.currency,
        'usage_adjustment' as line_kind,
        deltas.meter_key || ' usage adjustment for '
            || cast(deltas.service_period_start as {{ dbt.type_string() }}) as description,
        deltas.delta_amount as amount,
        20 as line_order

    from deltas
    inner join adjustment_targets
        on adjustment_targets.subscription_id = deltas.subscription_id
        and adjustment_targets.service_period_start = deltas.service_period_start
    where deltas.delta_amount <> 0
        and {{ usage_window_filter('adjustment_targets.period_start', none) }}

),

all_lines as (

    select
        subscription_id, tenant_id, period_start, period_start as service_period_start,
        plan_id, cast(null as bigint) as charge_id, cast(null as {{ dbt.type_string() }})
            as meter_key, cast(null as {{ quantity_type() }}) as quantity, currency, line_kind,
        description, amount, line_order
    from fee_lines
    union all
    select * from usage_lines
    union all
    select * from true_up_lines
    union all
    select * from adjustment_lines

),

unfinalized as (

    select all_lines.*
    from all_lines
    left join finalized
        on finalized.subscription_id = all_lines.subscription_id
        and finalized.period_start = all_lines.period_start
    where finalized.invoice_id is null

),

final as (

    select
        subscription_id,
        tenant_id,
        period_start,
        row_number() over (
            partition by subscription_id, period_start
            order by line_order, service_period_start, meter_key, description
        ) as line_number,
        line_kind,
        description,
        service_period_start,
        plan_id,
        charge_id,
        meter_key,
        cast(quantity as {{ quantity_type() }}) as quantity,
        currency,
        cast(amount as {{ money_amount_type() }}) as amount

    from unfinalized

)

select * from final
