{{ staging_model('control_plane', 'control_contract_commit_instalments', [
    'id as instalment_id',
    'contract_id',
    'instalment_index',
    'cast(period_start as date) as period_start',
    'amount as instalment_amount',
]) }}
