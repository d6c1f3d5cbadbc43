{{ config(tags=['costs'], contract={'enforced': true}) }}

{#- Cloud cost (EffectiveCost) per calendar month of the charge day, provider, service and
    currency, with the previous month's cost and the change: month over month and the top
    movers. A service absent in the previous month has a previous cost of zero. -#}
with

daily as (

    select * from {{ ref('fct_cloud_costs_daily') }}

),

monthly as (

    select
        cast({{ dbt.date_trunc('month', 'charge_date') }} as date) as month_start,
        provider_name,
        service_name,
        currency,
        sum(effective_cost) as effective_cost_amount,
        sum(billed_cost) as billed_cost_amount
    from daily
    group by 1, 2, 3, 4

),

final as (

    select
        monthly.month_start,
        monthly.provider_name,
        monthly.service_name,
        monthly.currency,
        cast(monthly.effective_cost_amount as {{ cost_amount_type() }}) as effective_cost_amount,
        cast(monthly.billed_cost_amount as {{ cost_amount_type() }}) as billed_cost_amount,
        cast(coalesce(previous.effective_cost_amount, 0) as {{ cost_amount_type() }})
            as previous_effective_cost_amount,
        cast(monthly.effective_cost_amount - coalesce(previous.effective_cost_amount, 0)
            as {{ cost_amount_type() }}) as change_amount
    from monthly
    left join monthly as previous
        on {{ same_keys('previous', 'monthly', ['provider_name', 'service_name', 'currency']) }}
        and cast({{ dbt.dateadd('month', 1, 'previous.month_start') }} as date)
            = monthly.month_start

)

select * from final
