{{ config(tags=['costs']) }}

{{ staging_model('control_plane', 'control_cost_allocation_targets', [
    'rule_id',
    'cast(cost_center_code as ' ~ dbt.type_string() ~ ') as cost_center_code',
    'cast(percentage as numeric(9, 6)) as percentage',
]) }}
