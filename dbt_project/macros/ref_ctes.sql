{#-
  Import CTEs: one `name as (select * from ref(model))` CTE per entry, in order, each followed
  by a comma (more CTEs follow). ctes: {'cte name': 'model name', ...}. windowed: the names of
  the CTEs that keep only the billing periods of the build window (usage_window_filter on
  period_start).
-#}
{% macro ref_ctes(ctes, windowed=[]) %}
{%- for name, model in ctes.items() %}
{{ name }} as (

    select * from {{ ref(model) }}
    {%- if name in windowed %}
    where {{ usage_window_filter('period_start', none) }}
    {%- endif %}

),
{% endfor -%}
{% endmacro %}
