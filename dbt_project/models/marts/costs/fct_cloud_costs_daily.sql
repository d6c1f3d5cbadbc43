{#- Cloud cost per UTC charge day, provider, account, sub-account, service and currency. -#}
with

lines as (

    select * from {{ ref('int_cost_lines_current') }}

),

final as (

    select
        cast(charge_period_start as date) as charge_date,
        billing_period as billing_period_start,
        provider_name,
        billing_account_id,
        sub_account_id,
        service_name,
        service_category,
        billing_currency as currency,
        count(*) as line_count,
        cast(sum(billed_cost) as {{ cost_amount_type() }}) as billed_cost,
        cast(sum(effective_cost) as {{ cost_amount_type() }}) as effective_cost,
        cast(sum(list_cost) as {{ cost_amount_type() }}) as list_cost,
        cast(sum(contracted_cost) as {{ cost_amount_type() }}) as contracted_cost
    from lines
    group by 1, 2, 3, 4, 5, 6, 7, 8

)

select * from final
