{{ staging_model('control_plane', 'control_plan_charge_tiers', [
    'charge_id',
    'tier_index',
    'up_to',
    'unit_amount',
    'flat_amount',
]) }}
