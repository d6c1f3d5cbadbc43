{#- Landed cost files with status, row counts and errors (the API lists them). -#}
select
    file_id,
    file_name,
    source_format,
    provider_name,
    status,
    row_count,
    error_message,
    billing_period_start,
    billing_period_end,
    billing_currencies,
    billed_cost_total,
    effective_cost_total,
    landed_seq,
    first_landed_at,
    landed_at,
    superseded_by_file_id
from {{ ref('stg_cost_files__files') }}
