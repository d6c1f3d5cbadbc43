{{ staging_model('control_plane', 'control_plans', [
    'id as plan_id',
    'code as plan_code',
    'version as plan_version',
    'name as plan_name',
    'currency',
    '"interval" as billing_interval',
    'base_fee_amount',
    'base_fee_timing',
    'trial_days',
    'created_at',
    'superseded_at',
    'archived_at',
]) }}
