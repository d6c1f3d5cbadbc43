with

source as (

    select * from {{ source('control_plane', 'control_coupon_redemptions') }}

),

renamed as (

    select
        id as redemption_id,
        coupon_id,
        subscription_id,
        redeemed_at,
        first_period_start,
        periods as duration_periods

    from source

)

select * from renamed
