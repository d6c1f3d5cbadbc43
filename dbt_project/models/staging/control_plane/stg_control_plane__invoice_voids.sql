{{ staging_model('control_plane', 'control_invoice_voids', [
    'invoice_id',
    'reason as void_reason',
    'voided_at',
]) }}
