{{ staging_model('control_plane', 'control_subscription_charge_override_tiers', [
    'override_id as charge_override_id',
    'tier_index',
    'up_to',
    'unit_amount',
    'flat_amount',
]) }}
