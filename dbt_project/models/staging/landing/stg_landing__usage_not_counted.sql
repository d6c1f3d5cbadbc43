{{ staging_model('landing', 'usage_not_counted', [
    'source as event_source',
    'event_id',
    'meter_key',
    'reason_code',
    'reason',
    'tenant_id',
    'event_type',
    'event_at',
    'period_start',
    'landing_batch_id',
    'recorded_at',
]) }}
