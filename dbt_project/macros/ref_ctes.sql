{#-
  Import CTEs: one `name as (select * from ref(model))` CTE per entry, in order, each followed
  by a comma (more CTEs follow). ctes: {'cte name': 'model name', ...}.
-#}
{% macro ref_ctes(ctes) %}
{%- for name, model in ctes.items() %}
{{ name }} as (

    select * from {{ ref(model) }}

),
{% endfor -%}
{% endmacro %}
