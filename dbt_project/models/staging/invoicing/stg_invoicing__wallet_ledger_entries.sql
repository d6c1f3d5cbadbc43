{{ staging_model('invoicing', 'wallet_ledger_entries', [
    'entry_id',
    'entry_kind',
    'wallet_id',
    'grant_id',
    'tenant_id',
    'currency',
    'amount',
    'invoice_id',
    'cause',
    'entry_at',
]) }}
