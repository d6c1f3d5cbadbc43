{{ staging_model('invoicing', 'finalized_invoice_documents', [
    'invoice_id',
    'media_type',
    'content_sha256',
    'content_base64',
    'byte_count',
    'rendered_at',
]) }}
