{#- Each current cost line once, with the first rule (lowest priority number) that claims it:
    a direct rule names its cost center, a shared rule puts the line in that rule's pool, and
    a line no rule claims goes to the explicit `unallocated` center. Every `match_*` a rule
    sets must hold. The line's charge day (UTC), provider and service come along for the daily
    split (int_cost_daily_allocations). -#}
with

lines as (

    select
        cost_line_id,
        billing_period,
        billing_currency,
        cast(charge_period_start as date) as charge_date,
        provider_name,
        billing_account_id,
        sub_account_id,
        service_name,
        tags,
        effective_cost,
        billed_cost
    from {{ ref('int_cost_lines_current') }}

),

rules as (

    select * from {{ ref('stg_control_plane__cost_allocation_rules') }}

),

matches as (

    select
        lines.cost_line_id,
        rules.rule_id,
        rules.priority,
        rules.rule_kind,
        rules.cost_center_code
    from lines
    inner join rules
        on (rules.match_tag_key is null
            or (rules.match_tag_value is null
                and {{ tag_value('lines.tags', 'rules.match_tag_key') }} is not null)
            or {{ tag_value('lines.tags', 'rules.match_tag_key') }} = rules.match_tag_value)
        and (rules.match_provider is null or lines.provider_name = rules.match_provider)
        and (rules.match_billing_account_id is null
            or lines.billing_account_id = rules.match_billing_account_id)
        and (rules.match_sub_account_id is null
            or lines.sub_account_id = rules.match_sub_account_id)
        and (rules.match_service_name is null or lines.service_name = rules.match_service_name)

),

first_match as (

    select
        cost_line_id,
        rule_id,
        rule_kind,
        cost_center_code,
        row_number() over (partition by cost_line_id order by priority, rule_id) as match_rank
    from matches

),

final as (

    select
        lines.cost_line_id,
        lines.billing_period,
        lines.billing_currency,
        lines.charge_date,
        lines.provider_name,
        lines.service_name,
        lines.effective_cost,
        lines.billed_cost,
        first_match.rule_id,
        case
            when first_match.rule_id is null then 'unallocated'
            else first_match.rule_kind
        end as assignment_kind,
        case
            when first_match.rule_id is null then 'unallocated'
            when first_match.rule_kind = 'direct' then first_match.cost_center_code
        end as cost_center_code
    from lines
    left join first_match
        on first_match.cost_line_id = lines.cost_line_id
        and first_match.match_rank = 1

)

select * from final
