with

source as (

    select * from {{ source('landing', 'usage_events') }}

),

renamed as (

    select
        source as event_source,
        event_id,
        event_type,
        tenant_id,
        event_at,
        cast(event_at as date) as usage_date,
        period_start,
        data as event_data,
        kafka_partition,
        kafka_offset,
        landing_batch_id,
        landed_at,
        is_late

    from source

)

select * from renamed
