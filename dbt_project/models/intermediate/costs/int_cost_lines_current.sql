{#- Every provider's lines in one shape, keeping only the current copy: per format family,
    billing account and billing period, the rows of the newest landed file (a corrected export
    supersedes the older one for the periods it covers; failed files never have rows). -#}
with

lines as (

    select * from {{ ref('stg_cost_files__focus_lines') }}
    union all
    select * from {{ ref('stg_cost_files__aws_lines') }}
    union all
    select * from {{ ref('stg_cost_files__azure_lines') }}
    union all
    select * from {{ ref('stg_cost_files__gcp_lines') }}

),

files as (

    select file_id, family, landed_seq
    from {{ ref('stg_cost_files__files') }}
    where status in ('landed', 'superseded')

),

keyed as (

    select
        lines.*,
        files.family,
        files.landed_seq,
        max(files.landed_seq) over (
            partition by files.family, coalesce(lines.billing_account_id, ''),
                lines.billing_period_start
        ) as newest_landed_seq
    from lines
    inner join files on files.file_id = lines.file_id

),

final as (

    select
        cost_line_id,
        file_id,
        row_number,
        source_format,
        family,
        provider_name,
        billing_account_id,
        billing_account_name,
        sub_account_id,
        sub_account_name,
        billing_currency,
        billing_period_start,
        billing_period_end,
        cast(billing_period_start as date) as billing_period,
        charge_period_start,
        charge_period_end,
        charge_category,
        charge_class,
        charge_type,
        charge_description,
        service_name,
        service_category,
        region_id,
        resource_id,
        resource_name,
        sku_id,
        consumed_quantity,
        consumed_unit,
        pricing_quantity,
        pricing_unit,
        billed_cost,
        effective_cost,
        list_cost,
        contracted_cost,
        tags,
        extras
    from keyed
    where landed_seq = newest_landed_seq

)

select * from final
