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

{#- Texts of several top-level keys of a JSON object column, parsed once: a 1-based list
    (DuckDB) or array (PostgreSQL). `keys` is a list of constant key names. -#}
{% macro json_get_texts(json_column, keys) -%}
    {{ return(adapter.dispatch('json_get_texts', 'billing')(json_column, keys)) }}
{%- endmacro %}

{% macro default__json_get_texts(json_column, keys) -%}
    json_extract_string({{ json_column }}, [
        {%- for k in keys %}'$.{{ k }}'{{ ", " if not loop.last }}{% endfor -%}
    ])
{%- endmacro %}

{% macro postgres__json_get_texts(json_column, keys) -%}
    array[
        {%- for k in keys %}{{ json_column }} ->> '{{ k }}'{{ ", " if not loop.last }}{% endfor -%}
    ]::text[]
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

{#- Several columns of the row that sorts last by `order_columns`, as one aggregate:
    last_row_aggregate(...) in the grouping query, last_row_columns(...) in the next step.
    DuckDB keeps one arg_max over a struct; PostgreSQL one ordered array_agg per column. -#}
{% macro last_row_aggregate(name, columns, order_columns, filter_condition) -%}
    {{ return(adapter.dispatch('last_row_aggregate', 'billing')(name, columns, order_columns, filter_condition)) }}
{%- endmacro %}

{% macro default__last_row_aggregate(name, columns, order_columns, filter_condition) -%}
    arg_max(
        struct_pack({% for c in columns %}{{ c }} := {{ c }}{{ ", " if not loop.last }}{% endfor %}),
        ({{ order_columns | join(', ') }})
    ) filter (where {{ filter_condition }}) as {{ name }}
{%- endmacro %}

{% macro postgres__last_row_aggregate(name, columns, order_columns, filter_condition) -%}
    {%- for c in columns %}
    (array_agg({{ c }} order by {{ order_columns | join(' desc, ') }} desc)
        filter (where {{ filter_condition }}))[1] as {{ name }}__{{ c }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro last_row_columns(name, columns) -%}
    {{ return(adapter.dispatch('last_row_columns', 'billing')(name, columns)) }}
{%- endmacro %}

{% macro default__last_row_columns(name, columns) -%}
    {%- for c in columns %}
    {{ name }}.{{ c }} as {{ name }}_{{ c }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro postgres__last_row_columns(name, columns) -%}
    {%- for c in columns %}
    {{ name }}__{{ c }} as {{ name }}_{{ c }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
