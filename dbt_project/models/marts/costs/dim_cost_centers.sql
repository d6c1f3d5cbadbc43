{#- Cost centers, plus the explicit `unallocated` center that receives what no rule claims. -#}
with

centers as (

    select * from {{ ref('stg_control_plane__cost_centers') }}

),

final as (

    select
        cost_center_code,
        cost_center_name,
        parent_cost_center_code,
        owner,
        monthly_budget_amount,
        budget_currency,
        false as is_unallocated
    from centers

    union all

    select
        cast('unallocated' as {{ dbt.type_string() }}),
        cast('Unallocated' as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}),
        cast(null as numeric(38, 12)),
        cast(null as {{ dbt.type_string() }}),
        true

)

select * from final
