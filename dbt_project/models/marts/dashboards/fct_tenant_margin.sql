{{ config(tags=['invoices'], contract={'enforced': true}) }}

{#- Gross margin per tenant, billing period and currency: revenue (fct_tenant_revenue) minus
    the tenant's allocated cloud cost. A tenant's cost is the allocated cost (direct + shared,
    fct_cost_center_costs) of the cost center it is mapped to (PUT /tenant-cost-centers),
    split evenly over the tenants mapped to that center in whole minor units (leftover units
    to the first tenants by id), so the tenants' costs add up to the center's. -#}
with

revenue as (

    select * from {{ ref('fct_tenant_revenue') }}

),

center_costs as (

    select billing_period_start, currency, cost_center_code, total_amount
    from {{ ref('fct_cost_center_costs') }}

),

tenant_centers as (

    select tenant_id, cost_center_code from {{ ref('stg_control_plane__tenant_cost_centers') }}

),

currencies as (

    select currency_code, minor_unit from {{ ref('currencies') }}

),

shares as (

    select
        tenant_centers.tenant_id,
        center_costs.billing_period_start as period_start,
        center_costs.currency,
        currencies.minor_unit,
        cast(round(center_costs.total_amount * (case currencies.minor_unit
            when 0 then 1 when 2 then 100 when 3 then 1000 else 10000 end)) as bigint)
            as center_units,
        count(*) over (
            partition by center_costs.billing_period_start, center_costs.currency,
                center_costs.cost_center_code
        ) as center_tenants,
        row_number() over (
            partition by center_costs.billing_period_start, center_costs.currency,
                center_costs.cost_center_code
            order by tenant_centers.tenant_id
        ) as tenant_rank
    from center_costs
    inner join tenant_centers on tenant_centers.cost_center_code = center_costs.cost_center_code
    inner join currencies on currencies.currency_code = center_costs.currency

),

tenant_costs as (

    select
        tenant_id,
        period_start,
        currency,
        sum(
            cast(
                cast((center_units - mod(center_units, center_tenants)) / center_tenants as bigint)
                + case when tenant_rank <= mod(center_units, center_tenants) then 1 else 0 end
                as numeric(38, 9)
            )
            * (case minor_unit when 0 then 1 when 2 then 0.01 when 3 then 0.001 else 0.0001 end)
        ) as allocated_cost_amount
    from shares
    group by 1, 2, 3

),

final as (

    select
        coalesce(revenue.tenant_id, tenant_costs.tenant_id) as tenant_id,
        coalesce(revenue.period_start, tenant_costs.period_start) as period_start,
        coalesce(revenue.currency, tenant_costs.currency) as currency,
        cast(coalesce(revenue.revenue_amount, 0) as numeric(38, 9)) as revenue_amount,
        cast(coalesce(tenant_costs.allocated_cost_amount, 0) as numeric(38, 9))
            as allocated_cost_amount,
        cast(coalesce(revenue.revenue_amount, 0) - coalesce(tenant_costs.allocated_cost_amount, 0)
            as numeric(38, 9)) as gross_margin_amount
    from revenue
    full outer join tenant_costs
        on {{ same_keys('tenant_costs', 'revenue', ['tenant_id', 'period_start', 'currency']) }}

)

select * from final
