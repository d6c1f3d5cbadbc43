{{ staging_model('landing', 'usage_events_dead_letter', [
    'kafka_topic',
    'kafka_partition',
    'kafka_offset',
    'kafka_key',
    'kafka_timestamp as produced_at',
    'payload',
    'payload_encoding',
    'reason_code',
    'reason',
    'landing_batch_id',
    'dead_lettered_at',
]) }}
