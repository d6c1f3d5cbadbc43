{{ staging_model('control_plane', 'control_plan_charges', [
    'id as charge_id',
    'plan_id',
    'position as charge_position',
    'meter_key',
    'price_model',
    'unit_amount',
    'package_size',
    'flat_amount',
    'free_units',
    'minimum_amount',
]) }}
