{#- Cloud cost (EffectiveCost) per UTC charge day, billing period, provider, service, currency
    and cost center: the center's direct cost (its direct rules; for `unallocated`, what no
    rule claims) and its shares of shared pools, split by day as int_cost_daily_allocations
    explains. Exact ({{ cost_amount_type() }}): summed over centers it is fct_cloud_costs_daily to the
    last decimal; summed over a period's days it is within one minor unit of each of the
    center's allocations in fct_cost_allocations (both tested). -#}
with

allocations as (

    select * from {{ ref('int_cost_daily_allocations') }}

),

centers as (

    select cost_center_code, cost_center_name from {{ ref('dim_cost_centers') }}

),

final as (

    select
        allocations.charge_date,
        allocations.billing_period as billing_period_start,
        allocations.provider_name,
        allocations.service_name,
        allocations.billing_currency as currency,
        allocations.cost_center_code,
        centers.cost_center_name,
        cast(
            sum(case when allocations.allocation_kind = 'shared' then 0 else allocations.amount end)
            as {{ cost_amount_type() }}
        ) as direct_amount,
        cast(
            sum(case when allocations.allocation_kind = 'shared' then allocations.amount else 0 end)
            as {{ cost_amount_type() }}
        ) as shared_amount,
        cast(sum(allocations.amount) as {{ cost_amount_type() }}) as total_amount
    from allocations
    left join centers on centers.cost_center_code = allocations.cost_center_code
    group by 1, 2, 3, 4, 5, 6, 7

)

select * from final
