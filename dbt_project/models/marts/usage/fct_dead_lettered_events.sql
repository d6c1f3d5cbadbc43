with

dead_letters as (

    select * from {{ ref('stg_landing__dead_lettered_events') }}

),

final as (

    select
        kafka_topic,
        kafka_partition,
        kafka_offset,
        kafka_key,
        produced_at,
        payload,
        payload_encoding,
        reason_code,
        reason,
        landing_batch_id,
        dead_lettered_at

    from dead_letters

)

select * from final
