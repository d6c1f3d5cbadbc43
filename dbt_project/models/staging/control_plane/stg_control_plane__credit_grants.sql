{{ staging_model('control_plane', 'control_credit_grants', [
    'id as credit_grant_id',
    'tenant_id',
    'currency',
    'amount as credit_amount',
    'reason as credit_reason',
    'granted_at',
    'cast(' ~ dbt.date_trunc('month', 'granted_at') ~ ' as date) as effective_period_start',
]) }}
