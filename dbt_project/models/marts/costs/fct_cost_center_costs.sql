{#- Cost per cost center, billing period and currency: its own direct and shared cost and the
    same rolled up over its descendants (children, grandchildren, ...). -#}
with recursive

centers as (

    select cost_center_code, cost_center_name, parent_cost_center_code, monthly_budget_amount,
        budget_currency
    from {{ ref('dim_cost_centers') }}

),

tree (ancestor_code, cost_center_code, depth) as (

    select
        cast(cost_center_code as {{ dbt.type_string() }}),
        cast(cost_center_code as {{ dbt.type_string() }}),
        0
    from centers

    union all

    select
        tree.ancestor_code,
        cast(centers.cost_center_code as {{ dbt.type_string() }}),
        tree.depth + 1
    from tree
    inner join centers on centers.parent_cost_center_code = tree.cost_center_code
    where tree.depth < 32

),

allocations as (

    select
        billing_period_start,
        currency,
        cost_center_code,
        sum(case when allocation_kind = 'shared' then 0 else amount end) as direct_amount,
        sum(case when allocation_kind = 'shared' then amount else 0 end) as shared_amount
    from {{ ref('fct_cost_allocations') }}
    group by 1, 2, 3

),

rolled as (

    select
        allocations.billing_period_start,
        allocations.currency,
        tree.ancestor_code as cost_center_code,
        sum(case when tree.depth = 0 then allocations.direct_amount else 0 end) as direct_amount,
        sum(case when tree.depth = 0 then allocations.shared_amount else 0 end) as shared_amount,
        sum(allocations.direct_amount) as rolled_up_direct_amount,
        sum(allocations.shared_amount) as rolled_up_shared_amount
    from allocations
    inner join tree on tree.cost_center_code = allocations.cost_center_code
    group by 1, 2, 3

),

final as (

    select
        rolled.billing_period_start,
        rolled.currency,
        rolled.cost_center_code,
        centers.cost_center_name,
        centers.parent_cost_center_code,
        cast(rolled.direct_amount as numeric(38, 9)) as direct_amount,
        cast(rolled.shared_amount as numeric(38, 9)) as shared_amount,
        cast(rolled.direct_amount + rolled.shared_amount as numeric(38, 9)) as total_amount,
        cast(rolled.rolled_up_direct_amount as numeric(38, 9)) as rolled_up_direct_amount,
        cast(rolled.rolled_up_shared_amount as numeric(38, 9)) as rolled_up_shared_amount,
        cast(rolled.rolled_up_direct_amount + rolled.rolled_up_shared_amount as numeric(38, 9))
            as rolled_up_total_amount,
        centers.monthly_budget_amount,
        centers.budget_currency
    from rolled
    inner join centers on centers.cost_center_code = rolled.cost_center_code

)

select * from final
