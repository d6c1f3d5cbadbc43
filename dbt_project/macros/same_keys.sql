{#- A join condition: `left` and `right` equal on every column of `columns`, e.g.
    same_keys('weights', 'running', ['billing_period', 'rule_id']) gives
    weights.billing_period = running.billing_period and weights.rule_id = running.rule_id. -#}
{% macro same_keys(left, right, columns) -%}
    {%- for column in columns -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}{{ '\n        and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
