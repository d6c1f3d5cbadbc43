{#-
  The body of a staging model: every row of one source table, its columns selected, cast and
  renamed, as the `source` and `renamed` CTEs every staging model has.
  columns: the select expressions in order, e.g. ['id as plan_id', 'currency'].
-#}
{% macro staging_model(source_name, table_name, columns) %}
with

source as (

    select * from {{ source(source_name, table_name) }}

),

renamed as (

    select
        {{ columns | join(',\n        ') }}

    from source

)

select * from renamed
{% endmacro %}
