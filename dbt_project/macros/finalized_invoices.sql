{#- The finalized invoices still standing: those not declared void (a CTE body). -#}
{% macro unvoided_finalized_invoices() -%}
    select finalized.*
    from {{ ref('stg_invoicing__finalized_invoices') }} as finalized
    left join {{ ref('stg_control_plane__invoice_voids') }} as voids
        on voids.invoice_id = finalized.invoice_id
    where voids.invoice_id is null
{%- endmacro %}
