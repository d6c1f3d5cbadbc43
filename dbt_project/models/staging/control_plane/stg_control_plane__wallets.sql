{{ staging_model('control_plane', 'control_wallets', [
    'id as wallet_id',
    'tenant_id',
    'currency',
    'name as wallet_name',
    'priority as wallet_priority',
    'created_at',
]) }}
