{{ staging_model('control_plane', 'control_coupons', [
    'id as coupon_id',
    'code as coupon_code',
    'percent_off',
    'amount_off',
    'currency',
    'duration',
    'duration_in_months',
    'max_redemptions',
    'times_redeemed',
    'redeem_by',
    'created_at',
    'archived_at',
]) }}
