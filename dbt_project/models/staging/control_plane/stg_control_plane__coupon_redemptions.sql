{{ staging_model('control_plane', 'control_coupon_redemptions', [
    'id as redemption_id',
    'coupon_id',
    'subscription_id',
    'redeemed_at',
    'first_period_start',
    'periods as duration_periods',
]) }}
