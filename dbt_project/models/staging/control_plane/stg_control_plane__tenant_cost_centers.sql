{{ config(tags=['costs']) }}

with

source as (

    select * from {{ source('control_plane', 'control_tenant_cost_centers') }}

),

renamed as (

    select
        tenant_id,
        cast(cost_center_code as {{ dbt.type_string() }}) as cost_center_code

    from source

)

select * from renamed
