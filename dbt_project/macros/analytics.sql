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
