with

source as (

    select * from {{ source('control_plane', 'control_tax_rates') }}

),

renamed as (

    select
        code as tax_rate_code,
        name as tax_rate_name,
        percentage as tax_percentage,
        archived_at

    from source

)

select * from renamed
