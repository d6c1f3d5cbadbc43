{{ config(tags=['costs']) }}

with

source as (

    select * from {{ source('control_plane', 'control_cost_allocation_targets') }}

),

renamed as (

    select
        rule_id,
        cast(cost_center_code as {{ dbt.type_string() }}) as cost_center_code,
        cast(percentage as numeric(9, 6)) as percentage

    from source

)

select * from renamed
