{#- Stage two: every shared pool's whole minor units split over cost centers by its method,
    with exact integer arithmetic and largest remainders, so each pool's shares add up to the
    pool exactly.

    * even: equal weights over the rule's targets;
    * fixed: the targets' percentages;
    * proportional: each target's direct cost in the same period and currency (stage one);
    * usage: each tenant's quantity of `usage_meter_key` in the billing period
      (fct_usage_period), to the tenant's cost center (unmapped tenants: unallocated).

    A pool with no positive weight (no usage, no direct cost) goes to `unallocated`. -#}
{%- set usage = ref('fct_usage_period') -%}
{%- set has_usage = execute and adapter.get_relation(
    database=usage.database, schema=usage.schema, identifier=usage.identifier) is not none -%}

with

buckets as (

    select * from {{ ref('int_cost_allocation_buckets') }}

),

pools as (

    select billing_period, billing_currency, rule_id, minor_unit, allocated_units as pool_units
    from buckets
    where bucket_kind = 'pool'

),

direct as (

    select billing_period, billing_currency, cost_center_code, allocated_units
    from buckets
    where bucket_kind = 'direct'

),

rules as (

    select rule_id, split_method, usage_meter_key
    from {{ ref('stg_control_plane__cost_allocation_rules') }}
    where rule_kind = 'shared'

),

{{ ref_ctes({
    'targets': 'stg_control_plane__cost_allocation_targets',
    'tenant_centers': 'stg_control_plane__tenant_cost_centers',
}) }}

usage as (

    {%- if has_usage %}
    select
        cast(period_start as date) as billing_period,
        meter_key,
        tenant_id,
        quantity
    from {{ usage }}
    {%- else %}
    select
        cast(null as date) as billing_period,
        cast(null as {{ dbt.type_string() }}) as meter_key,
        cast(null as {{ dbt.type_string() }}) as tenant_id,
        cast(null as numeric(38, 9)) as quantity
    where 1 = 0
    {%- endif %}

),

weights as (

    select pools.billing_period, pools.billing_currency, pools.rule_id, targets.cost_center_code,
        cast(1 as numeric(38, 0)) as weight
    from pools
    inner join rules on rules.rule_id = pools.rule_id and rules.split_method = 'even'
    inner join targets on targets.rule_id = pools.rule_id

    union all

    select pools.billing_period, pools.billing_currency, pools.rule_id, targets.cost_center_code,
        cast(targets.percentage * 1000000 as numeric(38, 0)) as weight
    from pools
    inner join rules on rules.rule_id = pools.rule_id and rules.split_method = 'fixed'
    inner join targets on targets.rule_id = pools.rule_id

    union all

    select pools.billing_period, pools.billing_currency, pools.rule_id, targets.cost_center_code,
        cast(coalesce(direct.allocated_units, 0) as numeric(38, 0)) as weight
    from pools
    inner join rules on rules.rule_id = pools.rule_id and rules.split_method = 'proportional'
    inner join targets on targets.rule_id = pools.rule_id
    left join direct
        on direct.billing_period = pools.billing_period
        and direct.billing_currency = pools.billing_currency
        and direct.cost_center_code = targets.cost_center_code

    union all

    select pools.billing_period, pools.billing_currency, pools.rule_id,
        coalesce(tenant_centers.cost_center_code, 'unallocated') as cost_center_code,
        cast(sum(usage.quantity) * 1000000000 as numeric(38, 0)) as weight
    from pools
    inner join rules on rules.rule_id = pools.rule_id and rules.split_method = 'usage'
    inner join usage
        on usage.meter_key = rules.usage_meter_key
        and usage.billing_period = pools.billing_period
    left join tenant_centers on tenant_centers.tenant_id = usage.tenant_id
    group by 1, 2, 3, 4

),

positive as (

    select
        billing_period,
        billing_currency,
        rule_id,
        cost_center_code,
        sum(weight) as weight
    from weights
    where weight > 0
    group by 1, 2, 3, 4

),

weighted as (

    select
        positive.*,
        pools.pool_units,
        pools.minor_unit,
        sum(positive.weight) over (
            partition by positive.billing_period, positive.billing_currency, positive.rule_id
        ) as total_weight
    from positive
    inner join pools
        on {{ same_keys('pools', 'positive', ['billing_period', 'billing_currency', 'rule_id']) }}

),

divided as (

    select
        *,
        cast({{ int_div('abs(pool_units) * weight', 'total_weight') }} as numeric(38, 0))
            as floor_units,
        cast({{ int_mod('abs(pool_units) * weight', 'total_weight') }} as numeric(38, 0))
            as remainder
    from weighted

),

ranked as (

    select
        *,
        abs(pool_units) - sum(floor_units) over (
            partition by billing_period, billing_currency, rule_id
        ) as extra_units,
        row_number() over (
            partition by billing_period, billing_currency, rule_id
            order by remainder desc, cost_center_code
        ) as remainder_rank
    from divided

),

shares as (

    select
        billing_period,
        billing_currency,
        'shared' as allocation_kind,
        cost_center_code,
        rule_id,
        minor_unit,
        cast(
            sign(pool_units)
            * (floor_units + case when remainder_rank <= extra_units then 1 else 0 end)
            as numeric(38, 0)
        ) as allocated_units
    from ranked

),

unsplit as (

    select
        pools.billing_period,
        pools.billing_currency,
        'shared' as allocation_kind,
        'unallocated' as cost_center_code,
        pools.rule_id,
        pools.minor_unit,
        pools.pool_units as allocated_units
    from pools
    where not exists (
        select 1 from weighted
        where weighted.billing_period = pools.billing_period
            and weighted.billing_currency = pools.billing_currency
            and weighted.rule_id = pools.rule_id
    )

),

own as (

    select
        billing_period,
        billing_currency,
        bucket_kind as allocation_kind,
        cost_center_code,
        cast(null as integer) as rule_id,
        minor_unit,
        allocated_units
    from buckets
    where bucket_kind in ('direct', 'unallocated')

),

final as (

    select
        billing_period,
        billing_currency,
        allocation_kind,
        cost_center_code,
        rule_id,
        minor_unit,
        allocated_units,
        {{ minor_units_to_amount('allocated_units', 'minor_unit') }} as amount
    from (
        select * from own
        union all
        select * from shares
        union all
        select * from unsplit
    ) as allocations

)

select * from final
