{{ staging_model('invoicing', 'finalized_invoice_lines', [
    'invoice_id',
    'line_number',
    'line_kind',
    'description',
    'service_period_start',
    'plan_id',
    'charge_id',
    'meter_key',
    'quantity',
    'amount',
]) }}
