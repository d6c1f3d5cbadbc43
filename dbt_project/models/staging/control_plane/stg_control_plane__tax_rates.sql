{{ staging_model('control_plane', 'control_tax_rates', [
    'code as tax_rate_code',
    'name as tax_rate_name',
    'percentage as tax_percentage',
    'archived_at',
]) }}
