with

source as (

    select * from {{ source('invoicing', 'finalized_invoice_lines') }}

),

renamed as (

    select
        invoice_id,
        line_number,
        line_kind,
        description,
        service_period_start,
        plan_id,
        charge_id,
        meter_key,
        quantity,
        amount

    from source

)

select * from renamed
