{{ config(tags=['costs'], contract={'enforced': true}) }}

{#- Month-to-date cloud cost and the month-end forecast per provider, service and currency,
    as of the latest charge day landed (macro `month_end_forecast`: MTD + median daily cost of
    the last 7 days x days left in the month). -#}
with

daily as (

    {{ daily_cost_by_service() }}

),

final as (

    {{ month_end_forecast(
        'daily', ['provider_name', 'service_name', 'currency'],
        day_column='charge_date', amount_column='effective_cost', trailing_days=7
    ) }}

)

select * from final
