{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- The PDF of every finalized invoice, frozen at finalization: the stored bytes (base64) and
    their SHA-256, exactly as rendered then. Read by the API (GET /invoices/{id}/pdf). -#}
with

{{ ref_ctes({'documents': 'stg_invoicing__finalized_invoice_documents'}) }}

final as (

    select
        invoice_id,
        media_type,
        content_sha256,
        content_base64,
        byte_count,
        rendered_at
    from documents

)

select * from final
