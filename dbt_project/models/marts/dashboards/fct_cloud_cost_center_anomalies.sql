{{ config(tags=['costs'], contract={'enforced': true}) }}

{#- Daily cloud cost per provider, service, cost center and currency (the center's direct cost
    and its shares, fct_cloud_costs_daily_by_cost_center) with the anomaly flag of the same rule
    as fct_cloud_cost_anomalies (macro `daily_anomalies`: 14-day rolling median and MAD,
    3 x 1.4826 x MAD, money floor 10). A spike in one center's use of a service is flagged for
    that center even when the service's total hides it. -#}
with

daily as (

    select
        provider_name,
        service_name,
        cost_center_code,
        currency,
        charge_date,
        sum(total_amount) as total_amount
    from {{ ref('fct_cloud_costs_daily_by_cost_center') }}
    group by 1, 2, 3, 4, 5

),

final as (

    {{ daily_anomalies(
        'daily', ['provider_name', 'service_name', 'cost_center_code', 'currency'],
        day_column='charge_date', amount_column='total_amount',
        window_days=14, min_history_days=7, mad_multiplier=3, money_floor=10
    ) }}

)

select * from final
