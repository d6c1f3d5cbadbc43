with

source as (

    select * from {{ source('landing', 'usage_not_counted') }}

),

renamed as (

    select
        source as event_source,
        event_id,
        meter_key,
        reason_code,
        reason,
        tenant_id,
        event_type,
        event_at,
        period_start,
        landing_batch_id,
        recorded_at

    from source

)

select * from renamed
