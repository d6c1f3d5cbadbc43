{{ staging_model('control_plane', 'control_tenant_tax_rates', [
    'tenant_id',
    'tax_rate_code',
]) }}
