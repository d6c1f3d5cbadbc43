with

source as (

    select * from {{ source('control_plane', 'control_subscription_phases') }}

),

renamed as (

    select
        id as phase_id,
        subscription_id,
        plan_id,
        starts_at,
        ends_at,
        reason as phase_reason

    from source

)

select * from renamed
