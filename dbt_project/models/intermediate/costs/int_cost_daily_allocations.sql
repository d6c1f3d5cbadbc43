{#- Stage three, for the daily marts: every current line's EffectiveCost per UTC charge day,
    provider, service and cost center, exact at the scale of the cost lines
    (cost_amount_type(), as in fct_cloud_costs_daily), never rounded to the minor unit.

    * direct and unallocated lines: their whole cost to their center on their charge day;
    * shared lines: a pool's lines summed into cells (charge day x provider x service, in the
      line's billing period), and each cell split over the centers in the proportions of the
      pool's shares in that period (int_cost_allocations: share units / pool units). A pool
      whose shares are all zero (it rounded to zero) is split equally over its centers.

    The split works in whole 10^-20 units (cost_units) with integer arithmetic. The pool's cells are taken
    in order (day, provider, service); the running total of the pool up to and including a
    cell is split by largest remainder (ties: cost center code), and a center's part of the
    cell is its split of the running total after the cell minus its split before it. So a
    cell's parts add up to the cell exactly, and a center's parts over the period telescope
    to its split of the whole pool: within 10^-20 of pool x share / pool units, so less than
    one minor unit away from its allocated share (tested). -#}
with

{{ ref_ctes({
    'assignments': 'int_cost_line_assignments',
    'allocations': 'int_cost_allocations',
}) }}

cells as (

    select
        billing_period,
        billing_currency,
        charge_date,
        provider_name,
        service_name,
        assignment_kind,
        cost_center_code,
        case when assignment_kind = 'shared' then rule_id end as rule_id,
        sum(effective_cost) as effective_cost
    from assignments
    group by 1, 2, 3, 4, 5, 6, 7, 8

),

owned as (

    select
        billing_period,
        billing_currency,
        charge_date,
        provider_name,
        service_name,
        assignment_kind as allocation_kind,
        cost_center_code,
        cast(null as integer) as rule_id,
        cast(effective_cost as {{ cost_amount_type() }}) as amount
    from cells
    where assignment_kind <> 'shared'

),

pool_cells as (

    select
        billing_period,
        billing_currency,
        rule_id,
        charge_date,
        provider_name,
        service_name,
        {{ cost_units('effective_cost') }} as cell_units
    from cells
    where assignment_kind = 'shared'

),

running as (

    select
        *,
        sum(cell_units) over (
            partition by billing_period, billing_currency, rule_id
            order by charge_date nulls last, provider_name nulls last, service_name nulls last
            rows between unbounded preceding and current row
        ) as through_units
    from pool_cells

),

shares as (

    select
        billing_period,
        billing_currency,
        rule_id,
        cost_center_code,
        abs(allocated_units) as share_units,
        sum(abs(allocated_units)) over (
            partition by billing_period, billing_currency, rule_id
        ) as pool_units,
        count(*) over (partition by billing_period, billing_currency, rule_id) as center_count
    from allocations
    where allocation_kind = 'shared'

),

weights as (

    select
        billing_period,
        billing_currency,
        rule_id,
        cost_center_code,
        cast(case when pool_units = 0 then 1 else share_units end as numeric(38, 0)) as weight,
        cast(case when pool_units = 0 then center_count else pool_units end as numeric(38, 0))
            as total_weight
    from shares

),

halves as (

    {#- |running total| x weight can pass 10^38 (a hugeint) for large pools: split the running
        total into high and low 10-digit halves and divide each exactly (long division). -#}
    select
        running.billing_period,
        running.billing_currency,
        running.rule_id,
        running.charge_date,
        running.provider_name,
        running.service_name,
        weights.cost_center_code,
        running.through_units,
        weights.weight,
        weights.total_weight,
        cast({{ int_div('abs(running.through_units)', 10000000000) }} as numeric(38, 0))
            as high_units,
        cast({{ int_mod('abs(running.through_units)', 10000000000) }} as numeric(38, 0))
            as low_units
    from running
    inner join weights
        on {{ same_keys('weights', 'running', ['billing_period', 'billing_currency', 'rule_id']) }}

),

high_divided as (

    select
        *,
        cast({{ int_div('high_units * weight', 'total_weight') }} as numeric(38, 0)) as high_floor,
        cast({{ int_mod('high_units * weight', 'total_weight') }} as numeric(38, 0))
            as high_remainder
    from halves

),

divided as (

    {#- through x weight = (high x weight) x 10^10 + low x weight, so its floor division is
        high_floor x 10^10 plus the division of (high_remainder x 10^10 + low x weight). -#}
    select
        billing_period,
        billing_currency,
        rule_id,
        charge_date,
        provider_name,
        service_name,
        cost_center_code,
        through_units,
        cast(
            high_floor * 10000000000
            + {{ int_div('high_remainder * 10000000000 + low_units * weight', 'total_weight') }}
            as numeric(38, 0)
        ) as through_floor,
        cast(
            {{ int_mod('high_remainder * 10000000000 + low_units * weight', 'total_weight') }}
            as numeric(38, 0)
        ) as through_remainder
    from high_divided

),

ranked as (

    select
        *,
        abs(through_units) - sum(through_floor) over (
            partition by billing_period, billing_currency, rule_id, charge_date, provider_name,
                service_name
        ) as through_extra,
        row_number() over (
            partition by billing_period, billing_currency, rule_id, charge_date, provider_name,
                service_name
            order by through_remainder desc, cost_center_code
        ) as through_rank
    from divided

),

through_split as (

    select
        *,
        cast(
            sign(through_units)
            * (through_floor + case when through_rank <= through_extra then 1 else 0 end)
            as numeric(38, 0)
        ) as through_share
    from ranked

),

pooled as (

    {#- A center's part of a cell: its split of the running total through the cell minus its
        split through the previous cell of the pool (the same order as `running`). #}
    select
        billing_period,
        billing_currency,
        charge_date,
        provider_name,
        service_name,
        'shared' as allocation_kind,
        cost_center_code,
        rule_id,
        cast(
            through_share - coalesce(lag(through_share) over (
                partition by billing_period, billing_currency, rule_id, cost_center_code
                order by charge_date nulls last, provider_name nulls last, service_name nulls last
            ), 0)
            as numeric(38, 0)
        ) as share_units
    from through_split

),

final as (

    select * from owned

    union all

    select
        billing_period,
        billing_currency,
        charge_date,
        provider_name,
        service_name,
        allocation_kind,
        cost_center_code,
        rule_id,
        {{ cost_units_to_amount('share_units') }} as amount
    from pooled
    where share_units <> 0

)

select * from final
