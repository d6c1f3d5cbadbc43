with

source as (

    select * from {{ source('control_plane', 'control_plan_charge_tiers') }}

),

renamed as (

    select
        charge_id,
        tier_index,
        up_to,
        unit_amount,
        flat_amount

    from source

)

select * from renamed
