with

source as (

    select * from {{ source('cost_files', 'cost_files') }}

),

renamed as (

    select
        file_id,
        file_name,
        source_format,
        case
            when source_format like 'focus%' then 'focus'
            when source_format like 'aws%' then 'aws'
            when source_format like 'azure%' then 'azure'
            when source_format = 'gcp' then 'gcp'
        end as family,
        provider_name,
        status,
        row_count,
        error as error_message,
        billing_period_start,
        billing_period_end,
        billing_currencies,
        billed_cost_total,
        effective_cost_total,
        landed_seq,
        first_landed_at,
        landed_at,
        superseded_by as superseded_by_file_id

    from source

)

select * from renamed
