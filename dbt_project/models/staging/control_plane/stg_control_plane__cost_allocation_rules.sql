{{ config(tags=['costs']) }}

{{ staging_model('control_plane', 'control_cost_allocation_rules', [
    'id as rule_id',
    'name as rule_name',
    'priority',
    'match_tag_key',
    'match_tag_value',
    'match_provider',
    'match_billing_account_id',
    'match_sub_account_id',
    'match_service_name',
    'cast(cost_center_code as ' ~ dbt.type_string() ~ ') as cost_center_code',
    'split_method',
    'usage_meter_key',
    'case when split_method is null then \'direct\' else \'shared\' end as rule_kind',
]) }}
