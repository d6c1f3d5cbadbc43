{{ config(tags=['costs']) }}

{{ staging_model('control_plane', 'control_cost_centers', [
    'cast(code as ' ~ dbt.type_string() ~ ') as cost_center_code',
    'name as cost_center_name',
    'cast(parent_code as ' ~ dbt.type_string() ~ ') as parent_cost_center_code',
    'owner',
    'cast(monthly_budget as numeric(38, 12)) as monthly_budget_amount',
    'budget_currency',
    'created_at',
    'updated_at',
]) }}
