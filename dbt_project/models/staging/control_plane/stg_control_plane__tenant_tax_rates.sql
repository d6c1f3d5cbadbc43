with

source as (

    select * from {{ source('control_plane', 'control_tenant_tax_rates') }}

),

renamed as (

    select
        tenant_id,
        tax_rate_code

    from source

)

select * from renamed
