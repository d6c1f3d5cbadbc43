{{ staging_model('control_plane', 'control_meters', [
    'key as meter_key',
    'name as meter_name',
    'event_type',
    'aggregation',
    'value_property',
    'unit',
    'group_by as group_by_json',
    'created_at',
    'archived_at',
    'archived_at is not null as is_archived',
]) }}
