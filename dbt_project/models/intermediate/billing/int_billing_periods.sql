{{ config(materialized='table') }}

{#- Every billing period (UTC calendar month) from 2020-01 to the current one. -#}
with recursive

months (period_start) as (

    select cast('2020-01-01' as date)

    union all

    select cast({{ dbt.dateadd('month', 1, 'period_start') }} as date)
    from months
    where period_start < cast({{ dbt.date_trunc('month', dbt.current_timestamp()) }} as date)

),

final as (

    select
        period_start,
        cast({{ dbt.dateadd('month', 1, 'period_start') }} as date) as period_end

    from months

)

select * from final
