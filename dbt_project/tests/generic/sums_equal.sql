{#- Per group of `group_by` columns, the sum of the column in the model equals the sum of
    `compare_column` in `compare_model` exactly, to the last decimal. A group on one side only
    counts as zero on the other; null group values match each other (a union, not a join). -#}
{% test sums_equal(model, column_name, compare_model, compare_column, group_by) %}

with

sides as (

    select
        {{ group_by | join(', ') }},
        cast({{ column_name }} as {{ cost_amount_type() }}) as model_amount,
        cast(0 as {{ cost_amount_type() }}) as compare_amount
    from {{ model }}

    union all

    select
        {{ group_by | join(', ') }},
        cast(0 as {{ cost_amount_type() }}) as model_amount,
        cast({{ compare_column }} as {{ cost_amount_type() }}) as compare_amount
    from {{ compare_model }}

)

select
    {{ group_by | join(', ') }},
    sum(model_amount) as model_amount,
    sum(compare_amount) as compare_amount
from sides
group by {{ group_by | join(', ') }}
having coalesce(sum(model_amount), 0) <> coalesce(sum(compare_amount), 0)

{% endtest %}
