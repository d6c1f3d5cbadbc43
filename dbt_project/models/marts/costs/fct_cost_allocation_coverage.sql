{#- Per billing period and currency: the source cost (EffectiveCost for allocation, BilledCost
    for tie-out to the bill), what was allocated, and the share allocated to real cost centers
    (coverage; not `unallocated`). -#}
with

source_totals as (

    select
        billing_period,
        billing_currency,
        sum(effective_cost) as source_effective_cost,
        sum(billed_cost) as source_billed_cost,
        count(*) as line_count
    from {{ ref('int_cost_lines_current') }}
    group by 1, 2

),

allocated as (

    select
        billing_period_start,
        currency,
        sum(amount) as allocated_amount,
        sum(case when is_unallocated then amount else 0 end) as unallocated_amount
    from {{ ref('fct_cost_allocations') }}
    group by 1, 2

),

final as (

    select
        source_totals.billing_period as billing_period_start,
        source_totals.billing_currency as currency,
        source_totals.line_count,
        cast(source_totals.source_effective_cost as {{ cost_amount_type() }}) as source_effective_cost,
        cast(source_totals.source_billed_cost as {{ cost_amount_type() }}) as source_billed_cost,
        cast(coalesce(allocated.allocated_amount, 0) as numeric(38, 9)) as allocated_amount,
        cast(coalesce(allocated.unallocated_amount, 0) as numeric(38, 9)) as unallocated_amount,
        cast(
            coalesce(allocated.allocated_amount, 0) - coalesce(allocated.unallocated_amount, 0)
            as numeric(38, 9)
        ) as allocated_to_centers_amount,
        case
            when coalesce(allocated.allocated_amount, 0) = 0 then null
            else cast(round(cast(
                (allocated.allocated_amount - allocated.unallocated_amount)
                / allocated.allocated_amount as numeric(20, 10)), 6) as numeric(9, 6))
        end as coverage_ratio
    from source_totals
    left join allocated
        on allocated.billing_period_start = source_totals.billing_period
        and allocated.currency = source_totals.billing_currency

)

select * from final
