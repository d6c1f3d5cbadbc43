{{ staging_model('control_plane', 'control_subscriptions', [
    'id as subscription_id',
    'tenant_id',
    'plan_id as latest_plan_id',
    'started_at',
    'trial_ends_at',
    'cancel_at',
    'canceled_at',
    'created_at',
]) }}
