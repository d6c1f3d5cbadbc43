{#- Exact arithmetic of the subscription analytics marts (models/marts/analytics). -#}

{#- numerator / denominator rounded half away from zero to `places` decimals, exactly: both
    are scaled to whole billionths (they have at most 9 decimal places, as every amount in the
    warehouse) and divided as integers, since DuckDB divides DECIMALs as DOUBLEs. Null when the
    denominator is null or not above zero. The result is numeric(38, places). -#}
{% macro exact_ratio(numerator, denominator, places=9) -%}
    case
        when {{ denominator }} > 0 then cast(
            case when {{ numerator }} < 0 then -1 else 1 end
            * cast({{ integer_div(
                "cast(cast(abs(" ~ numerator ~ ") as numeric(38, 9)) * 1000000000 as " ~ big_integer_type() ~ ") * "
                    ~ (2 * 10 ** places) ~ " + cast(cast(" ~ denominator ~ " as numeric(38, 9)) * 1000000000 as "
                    ~ big_integer_type() ~ ")",
                "cast(cast(" ~ denominator ~ " as numeric(38, 9)) * 1000000000 as " ~ big_integer_type() ~ ") * 2"
            ) }} as numeric(38, 0))
            * cast({{ "1" if places == 0 else "0." ~ "0" * (places - 1) ~ "1" }} as numeric(38, {{ places }}))
            as numeric(38, {{ places }})
        )
    end
{%- endmacro %}

{#- The length of each billing interval in months, as a fraction (months, per): a week is 12/52
    of a month, a day 12/365. An interval not listed gives null (and fails the not_null tests
    of the marts) rather than a guess. -#}
{% macro interval_months() -%}
    {{ return({
        'day': (12, 365),
        'week': (12, 52),
        'month': (1, 1),
        'quarter': (3, 1),
        'year': (12, 1),
    }) }}
{%- endmacro %}

{#- A fixed fee charged every `interval_count` `interval`s, expressed over `months` months
    (1 for MRR, 12 for ARR): amount x months / (interval length in months x count), rounded
    half-up to 9 places (the warehouse's amount scale). Today every plan is billed monthly
    (interval 'month', count 1), for which it is the fee itself. -#}
{% macro fee_over_months(amount, interval, interval_count, months) -%}
    case {{ interval }}
        {%- for name, (length, per) in interval_months().items() %}
        when '{{ name }}' then {{ exact_ratio(
            "(" ~ amount ~ ") * " ~ (months * per),
            "(" ~ interval_count ~ ") * " ~ length) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Every month from each row of `keys_cte` on (its `start_column` month to the last month of
    the `months` CTE), with the `zero_columns` of `facts_cte` for that month, 0 where it has
    none: the select of a CTE. The `keys` (and `carried` columns) come from `keys_cte`;
    `facts_cte` has the keys and `month_start`. -#}
{% macro month_grid(keys_cte, keys, start_column, facts_cte, zero_columns, carried=[]) -%}
    select
        {%- for column in keys + carried %}
        {{ keys_cte }}.{{ column }},
        {%- endfor %}
        months.period_start as month_start,
        {%- for column in zero_columns %}
        coalesce({{ facts_cte }}.{{ column }}, 0) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}

    from {{ keys_cte }}
    inner join months on months.period_start >= {{ keys_cte }}.{{ start_column }}
    left join {{ facts_cte }}
        on {{ same_keys(facts_cte, keys_cte, keys) }}
        and {{ facts_cte }}.month_start = months.period_start
{%- endmacro %}

{#- `cast(c as data_type) as c` for each column, comma-separated: the typed columns of a
    contract-enforced select. -#}
{% macro cast_columns(columns, data_type) -%}
    {%- for column in columns %}
    cast({{ column }} as {{ data_type }}) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
