{#- Stage one of the allocation, per billing period and currency: the assigned lines summed
    into buckets (each direct cost center, each shared pool, unallocated) and rounded to whole
    minor units by largest remainder, so the buckets add up exactly to the period's total
    EffectiveCost rounded half-up to the currency's minor unit. Each bucket is floored; the
    units left over go one each to the largest remainders (ties: bucket key). -#}
with

assignments as (

    select * from {{ ref('int_cost_line_assignments') }}

),

currencies as (

    select currency_code, minor_unit from {{ ref('currencies') }}

),

buckets as (

    select
        billing_period,
        billing_currency,
        case when assignment_kind = 'shared' then 'pool' else assignment_kind end as bucket_kind,
        cost_center_code,
        case when assignment_kind = 'shared' then rule_id end as rule_id,
        sum(effective_cost) as effective_cost,
        sum(billed_cost) as billed_cost,
        count(*) as line_count
    from assignments
    group by 1, 2, 3, 4, 5

),

scaled as (

    select
        buckets.*,
        coalesce(currencies.minor_unit, 2) as minor_unit,
        cast(
            buckets.effective_cost * {{ minor_unit_scale('coalesce(currencies.minor_unit, 2)') }}
            as {{ cost_amount_type() }}
        ) as exact_units,
        buckets.bucket_kind || ':'
            || coalesce(buckets.cost_center_code, cast(buckets.rule_id as {{ dbt.type_string() }}))
            as bucket_key
    from buckets
    left join currencies on currencies.currency_code = buckets.billing_currency

),

floored as (

    select
        *,
        cast(floor(exact_units) as numeric(38, 0)) as floor_units,
        exact_units - cast(floor(exact_units) as numeric(38, 0)) as remainder_units
    from scaled

),

totals as (

    select
        billing_period,
        billing_currency,
        cast(round(sum(exact_units), 0) as numeric(38, 0)) - sum(floor_units) as extra_units
    from floored
    group by 1, 2

),

ranked as (

    select
        floored.*,
        totals.extra_units,
        row_number() over (
            partition by floored.billing_period, floored.billing_currency
            order by floored.remainder_units desc, floored.bucket_key
        ) as remainder_rank
    from floored
    inner join totals
        on totals.billing_period = floored.billing_period
        and totals.billing_currency = floored.billing_currency

),

final as (

    select
        billing_period,
        billing_currency,
        bucket_kind,
        cost_center_code,
        rule_id,
        bucket_key,
        minor_unit,
        effective_cost,
        billed_cost,
        line_count,
        cast(
            floor_units + case when remainder_rank <= extra_units then 1 else 0 end
            as numeric(38, 0)
        ) as allocated_units
    from ranked

)

select * from final
