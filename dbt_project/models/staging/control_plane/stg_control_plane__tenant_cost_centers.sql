{{ config(tags=['costs']) }}

{{ staging_model('control_plane', 'control_tenant_cost_centers', [
    'tenant_id',
    'cast(cost_center_code as ' ~ dbt.type_string() ~ ') as cost_center_code',
]) }}
