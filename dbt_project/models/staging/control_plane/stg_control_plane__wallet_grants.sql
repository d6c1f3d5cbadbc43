{{ staging_model('control_plane', 'control_wallet_grants', [
    'id as grant_id',
    'wallet_id',
    'tenant_id',
    'currency',
    'kind as grant_kind',
    'source_ref',
    'amount as grant_amount',
    'reason as grant_reason',
    'granted_at',
    'expires_at',
]) }}
