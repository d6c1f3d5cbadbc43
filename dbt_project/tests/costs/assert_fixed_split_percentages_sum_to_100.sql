{{ config(tags=['costs'], meta={'dagster': {'ref': {'name': 'stg_control_plane__cost_allocation_targets'}}}) }}
{#- A `fixed` shared pool's percentages add up to exactly 100. -#}
select rules.rule_id, sum(targets.percentage) as total_percentage
from {{ ref('stg_control_plane__cost_allocation_rules') }} as rules
left join {{ ref('stg_control_plane__cost_allocation_targets') }} as targets
    on targets.rule_id = rules.rule_id
where rules.split_method = 'fixed'
group by rules.rule_id
having coalesce(sum(targets.percentage), 0) <> 100
