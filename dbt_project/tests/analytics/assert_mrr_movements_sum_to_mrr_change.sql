{{ config(tags=['invoices'], meta={'dagster': {'ref': {'name': 'fct_mrr_monthly'}}}) }}
{#- The MRR bridge holds, per currency and month: starting MRR + the movements = ending MRR;
    the starting MRR is the previous month's ending MRR (zero before the first month); and a
    tenant's movements up to each month sum to its MRR then. Any row returned is a failure. -#}
with

monthly as (

    select
        *,
        lag(ending_mrr_amount) over (partition by currency order by month_start)
            as previous_ending_mrr_amount,
        lag(month_start) over (partition by currency order by month_start) as previous_month_start

    from {{ ref('fct_mrr_monthly') }}

),

bridge_breaks as (

    select currency, month_start, 'bridge' as failure
    from monthly
    where starting_mrr_amount + new_mrr_amount + expansion_mrr_amount + contraction_mrr_amount
            + churn_mrr_amount + reactivation_mrr_amount <> ending_mrr_amount
        or (previous_month_start = cast({{ dbt.dateadd('month', -1, 'month_start') }} as date)
            and starting_mrr_amount <> previous_ending_mrr_amount)
        or (previous_month_start is null and starting_mrr_amount <> 0)

),

running as (

    {#- Every movement month is a month of fct_mrr: a running sum over its rows. -#}
    select
        mrr.tenant_id,
        mrr.currency,
        mrr.month_start,
        mrr.mrr_amount,
        sum(coalesce(movements.mrr_change_amount, 0)) over (
            partition by mrr.tenant_id, mrr.currency
            order by mrr.month_start
            rows between unbounded preceding and current row
        ) as movements_to_date_amount

    from {{ ref('fct_mrr') }} as mrr
    left join {{ ref('fct_mrr_movements') }} as movements
        on {{ same_keys('movements', 'mrr', ['tenant_id', 'currency', 'month_start']) }}

),

running_breaks as (

    select currency, month_start, 'tenant ' || tenant_id as failure
    from running
    where movements_to_date_amount <> mrr_amount

)

select * from bridge_breaks
union all
select * from running_breaks
