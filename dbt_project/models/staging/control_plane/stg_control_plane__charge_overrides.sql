{{ staging_model('control_plane', 'control_subscription_charge_overrides', [
    'id as charge_override_id',
    'version_id as override_version_id',
    'charge_id',
    'meter_key',
    'unit_amount',
    'package_size',
    'flat_amount',
    'free_units',
    'minimum_amount',
    'has_tiers',
]) }}
