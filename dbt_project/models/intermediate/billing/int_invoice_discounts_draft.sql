{{ billing_period_config(delete_window=true) }}

{#-
  Coupons on each draft invoice, applied in the order they were redeemed, each to what the
  previous ones left: a percentage of that remainder (rounded half-up), or an amount that never
  takes it below zero. A coupon applies from the period it was redeemed in, for one period
  (once), N periods (repeating) or for ever.
-#}
with recursive

subtotals as (

    select
        subscription_id, tenant_id, period_start, currency,
        sum(amount) as subtotal_amount
    from {{ ref('int_invoice_lines_draft') }}
    where {{ usage_window_filter('period_start', none) }}
    group by subscription_id, tenant_id, period_start, currency

),

active_coupons as (

    select
        subtotals.subscription_id,
        subtotals.period_start,
        coupons.coupon_code,
        coupons.percent_off,
        coupons.amount_off,
        currencies.minor_unit,
        row_number() over (
            partition by subtotals.subscription_id, subtotals.period_start
            order by redemptions.redeemed_at, redemptions.redemption_id
        ) as coupon_rank

    from subtotals
    inner join {{ ref('stg_control_plane__coupon_redemptions') }} as redemptions
        on redemptions.subscription_id = subtotals.subscription_id
        and redemptions.first_period_start <= subtotals.period_start
        and (
            redemptions.duration_periods is null
            or subtotals.period_start < {{ dbt.dateadd('month', 'redemptions.duration_periods',
                                                       'redemptions.first_period_start') }}
        )
    inner join {{ ref('stg_control_plane__coupons') }} as coupons
        on coupons.coupon_id = redemptions.coupon_id
    left join {{ ref('currencies') }} as currencies
        on currencies.currency_code = subtotals.currency

),

applied (subscription_id, period_start, coupon_rank, coupon_code, discount_amount,
         remaining_amount) as (

    select
        subscription_id,
        period_start,
        cast(0 as bigint),
        cast(null as {{ dbt.type_string() }}),
        cast(0 as {{ money_amount_type() }}),
        cast(greatest(subtotal_amount, 0) as {{ money_amount_type() }})
    from subtotals

    union all

    select
        applied.subscription_id,
        applied.period_start,
        cast(active_coupons.coupon_rank as bigint),
        active_coupons.coupon_code,
        cast(
            {{ coupon_discount('applied.remaining_amount', 'active_coupons') }}
            as {{ money_amount_type() }}
        ),
        cast(
            applied.remaining_amount
            - {{ coupon_discount('applied.remaining_amount', 'active_coupons') }}
            as {{ money_amount_type() }}
        )
    from applied
    inner join active_coupons
        on active_coupons.subscription_id = applied.subscription_id
        and active_coupons.period_start = applied.period_start
        and active_coupons.coupon_rank = applied.coupon_rank + 1

),

final as (

    select
        subscription_id,
        period_start,
        coupon_rank,
        coupon_code,
        discount_amount

    from applied
    where coupon_rank > 0

)

select * from final
