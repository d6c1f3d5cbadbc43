with

source as (

    select * from {{ source('control_plane', 'control_invoice_voids') }}

),

renamed as (

    select
        invoice_id,
        reason as void_reason,
        voided_at

    from source

)

select * from renamed
