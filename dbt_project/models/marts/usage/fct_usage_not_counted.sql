{#-
  Accepted events that are not counted for one meter of their type (the property the meter
  reads is missing or unusable), one row per event and meter: the per-meter dead-letter view.
  The usage marts leave these (event, meter) pairs out; the event counts for its other meters.
-#}
with

not_counted as (

    select * from {{ ref('stg_landing__usage_not_counted') }}

),

final as (

    select
        event_source,
        event_id,
        tenant_id,
        event_type,
        meter_key,
        event_at,
        period_start,
        reason_code,
        reason,
        landing_batch_id,
        recorded_at

    from not_counted

)

select * from final
