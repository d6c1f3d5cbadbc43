{#-
  The config of a model rebuilt one billing period at a time: incremental on `period_start`
  (delete+insert), tagged `billing_period` so the period jobs select it, failing on a schema
  change. delete_window: first delete every period of the build window (delete_build_window),
  so that a period that has lost all its rows does not keep the old ones. contract: enforce the
  model's declared columns and types.
-#}
{% macro billing_period_config(delete_window=false, contract=false) %}
    {%- set options = {
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'period_start',
        'tags': ['billing_period'],
        'on_schema_change': 'fail',
    } -%}
    {%- if delete_window -%}
        {%- do options.update({'pre_hook': '{{ delete_build_window() }}'}) -%}
    {%- endif -%}
    {%- if contract -%}
        {%- do options.update({'contract': {'enforced': true}}) -%}
    {%- endif -%}
    {{- config(**options) -}}
{% endmacro %}
