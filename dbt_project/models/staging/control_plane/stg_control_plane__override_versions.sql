{{ staging_model('control_plane', 'control_subscription_override_versions', [
    'id as override_version_id',
    'subscription_id',
    'version as override_version',
    'plan_id',
    'effective_from',
    'base_fee_amount',
    'superseded_at',
]) }}
