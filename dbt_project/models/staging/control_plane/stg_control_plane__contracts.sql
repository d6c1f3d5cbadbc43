{{ staging_model('control_plane', 'control_contracts', [
    'id as contract_id',
    'tenant_id',
    'subscription_id',
    'cast(starts_on as date) as starts_on',
    'cast(ends_on as date) as ends_on',
    'currency',
    'postpaid_commit_amount',
    'prepaid_commit_amount',
    'prepaid_commit_rollover',
    'prepaid_grant_id',
]) }}
