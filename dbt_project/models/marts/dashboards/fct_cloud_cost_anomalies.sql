{{ config(tags=['costs'], contract={'enforced': true}) }}

{#- Daily cloud cost per provider, service and currency with its anomaly flag (macro
    `daily_anomalies`: 14-day rolling median and MAD, 3 x 1.4826 x MAD, money floor 10). -#}
with

daily as (

    {{ daily_cost_by_service() }}

),

final as (

    {{ daily_anomalies(
        'daily', ['provider_name', 'service_name', 'currency'],
        day_column='charge_date', amount_column='effective_cost',
        window_days=14, min_history_days=7, mad_multiplier=3, money_floor=10
    ) }}

)

select * from final
