{#- Small cross-database helpers, one adapter.dispatch each. -#}

{#- The exact type of quantities: decimal(38, 9). -#}
{% macro quantity_type() -%}
    numeric(38, 9)
{%- endmacro %}

{#- Text value of a top-level key of a JSON object column; `key_expression` is SQL. -#}
{% macro json_get_text(json_column, key_expression) -%}
    {{ return(adapter.dispatch('json_get_text', 'billing')(json_column, key_expression)) }}
{%- endmacro %}

{% macro default__json_get_text(json_column, key_expression) -%}
    json_extract_string({{ json_column }}, '$.' || {{ key_expression }})
{%- endmacro %}

{% macro postgres__json_get_text(json_column, key_expression) -%}
    ({{ json_column }} ->> {{ key_expression }})
{%- endmacro %}

{#- The JSON array column as a list of text, joined with `, ` (for display). -#}
{% macro json_array_text(json_column) -%}
    {{ return(adapter.dispatch('json_array_text', 'billing')(json_column)) }}
{%- endmacro %}

{% macro default__json_array_text(json_column) -%}
    array_to_string(cast(json_extract_string({{ json_column }}, '$[*]') as varchar[]), ', ')
{%- endmacro %}

{% macro postgres__json_array_text(json_column) -%}
    (select string_agg(value, ', ') from jsonb_array_elements_text(cast({{ json_column }} as jsonb)))
{%- endmacro %}

{#- Canonical "k1=v1|k2=v2" key of the data properties named by a JSON array column. -#}
{% macro json_group_key(data_column, group_by_column) -%}
    {{ return(adapter.dispatch('json_group_key', 'billing')(data_column, group_by_column)) }}
{%- endmacro %}

{% macro default__json_group_key(data_column, group_by_column) -%}
    array_to_string(
        list_transform(
            cast(json_extract_string({{ group_by_column }}, '$[*]') as varchar[]),
            lambda k: k || '=' || coalesce(json_extract_string({{ data_column }}, '$.' || k), '')
        ),
        '|'
    )
{%- endmacro %}

{% macro postgres__json_group_key(data_column, group_by_column) -%}
    (
        select string_agg(g.k || '=' || coalesce({{ data_column }} ->> g.k, ''), '|' order by g.ord)
        from jsonb_array_elements_text(cast({{ group_by_column }} as jsonb)) with ordinality as g(k, ord)
    )
{%- endmacro %}

{#- The value of `value_column` on the row that sorts last by `order_columns`. -#}
{% macro last_value_by(value_column, order_columns, filter_condition=none) -%}
    {{ return(adapter.dispatch('last_value_by', 'billing')(value_column, order_columns, filter_condition)) }}
{%- endmacro %}

{% macro default__last_value_by(value_column, order_columns, filter_condition) -%}
    arg_max({{ value_column }}, ({{ order_columns | join(', ') }}))
    {%- if filter_condition %} filter (where {{ filter_condition }}){% endif %}
{%- endmacro %}

{% macro postgres__last_value_by(value_column, order_columns, filter_condition) -%}
    (array_agg({{ value_column }} order by {{ order_columns | join(' desc, ') }} desc)
    {%- if filter_condition %} filter (where {{ filter_condition }}){% endif %})[1]
{%- endmacro %}
