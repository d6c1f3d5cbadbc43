{{ staging_model('control_plane', 'control_subscription_phases', [
    'id as phase_id',
    'subscription_id',
    'plan_id',
    'starts_at',
    'ends_at',
    'reason as phase_reason',
]) }}
