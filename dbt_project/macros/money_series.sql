{#- Rules on daily money series, independent of any model: a month-end forecast and anomaly
    flags. Each macro takes a relation (or CTE name) with one row per key and UTC day
    (`keys` columns, `day_column` a date, `amount_column` a decimal amount) and returns a
    select statement. Days without a row count as zero: the macros fill the gaps themselves.
    Medians are exact (the middle value, or half the sum of the two middle values), so the
    results are decimals on both DuckDB and PostgreSQL, never floats. -#}

{#- Every UTC day from `start_expression` to `end_expression` (inclusive), column `day`. -#}
{% macro day_spine(start_expression, end_expression) -%}
    select cast(spine_at as date) as day
    from generate_series(
        cast({{ start_expression }} as timestamp),
        cast({{ end_expression }} as timestamp),
        interval '1 day'
    ) as spine(spine_at)
{%- endmacro %}

{#- Exact median of `value_column` per `group_columns`, over rows of `relation`: a select with
    the group columns, `<name>` and `<name>_count` (rows in the group). -#}
{% macro exact_median(relation, group_columns, value_column, name) -%}
    with ranked as (
        select
            {% for c in group_columns %}{{ c }}, {% endfor %}
            {{ value_column }} as median_value,
            row_number() over (
                partition by {{ group_columns | join(', ') }} order by {{ value_column }}
            ) as median_rank,
            count(*) over (partition by {{ group_columns | join(', ') }}) as median_rows
        from {{ relation }}
    )
    select
        {% for c in group_columns %}{{ c }}, {% endfor %}
        cast(
            sum(median_value) * (case when mod(max(median_rows), 2) = 0 then 0.5 else 1 end)
            as numeric(38, 9)
        ) as {{ name }},
        max(median_rows) as {{ name }}_count
    from ranked
    where median_rank in (floor((median_rows + 1) / 2.0), floor((median_rows + 2) / 2.0))
    group by {{ group_columns | join(', ') }}
{%- endmacro %}

{#- Month-end forecast per key for the calendar month of `as_of` (a SQL date expression; by
    default the latest day in the series):
        month_to_date = sum of the month's days up to and including as_of
        run_rate      = median daily amount over the `trailing_days` days ending at as_of
                        (days without a row count as zero)
        forecast      = month_to_date + run_rate x days remaining after as_of in the month
    The median keeps a one-day spike from moving the forecast. -#}
{% macro month_end_forecast(relation, keys, day_column='day', amount_column='amount', as_of=none, trailing_days=7) -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set as_of_sql = as_of if as_of else '(select max(' ~ day_column ~ ') from ' ~ relation ~ ')' -%}
    with forecast_input as (
        select {{ key_list }}, cast({{ day_column }} as date) as day,
            cast({{ amount_column }} as numeric(38, 9)) as amount
        from {{ relation }}
    ),
    forecast_as_of as (
        select
            cast({{ as_of_sql }} as date) as as_of_date,
            cast({{ dbt.date_trunc('month', as_of_sql) }} as date) as month_start
    ),
    forecast_bounds as (
        select
            as_of_date,
            month_start,
            cast({{ dbt.dateadd('month', 1, 'month_start') }} as date) as next_month_start
        from forecast_as_of
    ),
    forecast_keys as (
        select distinct {{ key_list }}
        from forecast_input, forecast_bounds
        where day <= as_of_date and day > as_of_date - {{ trailing_days }}
            or day >= month_start and day <= as_of_date
    ),
    trailing_spine as (
        {{ billing.day_spine(
            '(select as_of_date - ' ~ (trailing_days - 1) ~ ' from forecast_bounds)',
            '(select as_of_date from forecast_bounds)'
        ) }}
    ),
    trailing_amounts as (
        select {% for k in keys %}forecast_keys.{{ k }}, {% endfor %}trailing_spine.day,
            coalesce(sum(forecast_input.amount), 0) as amount
        from forecast_keys
        cross join trailing_spine
        left join forecast_input
            on {% for k in keys %}forecast_input.{{ k }} = forecast_keys.{{ k }} and {% endfor -%}
            forecast_input.day = trailing_spine.day
        group by {% for k in keys %}forecast_keys.{{ k }}, {% endfor %}trailing_spine.day
    ),
    run_rates as (
        {{ billing.exact_median('trailing_amounts', keys, 'amount', 'run_rate_amount') }}
    ),
    month_to_date as (
        select {% for k in keys %}forecast_keys.{{ k }}, {% endfor -%}
            coalesce(sum(forecast_input.amount), 0) as month_to_date_amount
        from forecast_keys
        cross join forecast_bounds
        left join forecast_input
            on {% for k in keys %}forecast_input.{{ k }} = forecast_keys.{{ k }} and {% endfor -%}
            forecast_input.day >= forecast_bounds.month_start
            and forecast_input.day <= forecast_bounds.as_of_date
        group by {% for k in keys %}forecast_keys.{{ k }}{{ ", " if not loop.last }}{% endfor %}
    ),
    final as (
        select
            {% for k in keys %}month_to_date.{{ k }}, {% endfor %}
            forecast_bounds.month_start,
            forecast_bounds.as_of_date,
            cast(forecast_bounds.as_of_date - forecast_bounds.month_start + 1 as integer)
                as days_elapsed,
            cast(forecast_bounds.next_month_start - forecast_bounds.as_of_date - 1 as integer)
                as days_remaining,
            cast(month_to_date.month_to_date_amount as numeric(38, 9)) as month_to_date_amount,
            run_rates.run_rate_amount,
            cast(
                month_to_date.month_to_date_amount + run_rates.run_rate_amount
                * (forecast_bounds.next_month_start - forecast_bounds.as_of_date - 1)
                as numeric(38, 9)
            ) as forecast_amount
        from month_to_date
        cross join forecast_bounds
        join run_rates
            on {% for k in keys %}run_rates.{{ k }} = month_to_date.{{ k }}{{ " and " if not loop.last }}{% endfor %}
    )
    select * from final
{%- endmacro %}

{#- Anomaly flags per key and day (days without a row count as zero, from the key's first
    day to the series' last day). For each day, over the `window_days` days before it:
        baseline  = median daily amount
        mad       = median absolute deviation from that baseline
        deviation = amount - baseline
        is_anomaly: at least `min_history_days` days of history, |deviation| greater than
                    `mad_multiplier` x 1.4826 x mad (1.4826 makes the MAD estimate a standard
                    deviation for normal noise), and |deviation| at least `money_floor`, so
                    a flat series or cents of noise never alert. -#}
{% macro daily_anomalies(relation, keys, day_column='day', amount_column='amount', window_days=14, min_history_days=7, mad_multiplier=3, money_floor=10) -%}
    {%- set key_list = keys | join(', ') -%}
    with anomaly_input as (
        select {{ key_list }}, cast({{ day_column }} as date) as day,
            sum(cast({{ amount_column }} as numeric(38, 9))) as amount
        from {{ relation }}
        group by {{ key_list }}, cast({{ day_column }} as date)
    ),
    anomaly_keys as (
        select {{ key_list }}, min(day) as first_day
        from anomaly_input
        group by {{ key_list }}
    ),
    anomaly_days as (
        {{ billing.day_spine(
            '(select min(day) from anomaly_input)', '(select max(day) from anomaly_input)'
        ) }}
    ),
    dense as (
        select {% for k in keys %}anomaly_keys.{{ k }}, {% endfor %}anomaly_days.day,
            coalesce(anomaly_input.amount, 0) as amount
        from anomaly_keys
        join anomaly_days on anomaly_days.day >= anomaly_keys.first_day
        left join anomaly_input
            on {% for k in keys %}anomaly_input.{{ k }} = anomaly_keys.{{ k }} and {% endfor -%}
            anomaly_input.day = anomaly_days.day
    ),
    history as (
        select {% for k in keys %}dense.{{ k }}, {% endfor %}dense.day, past.amount as past_amount
        from dense
        join dense as past
            on {% for k in keys %}past.{{ k }} = dense.{{ k }} and {% endfor -%}
            past.day < dense.day and past.day >= dense.day - {{ window_days }}
    ),
    baselines as (
        {{ billing.exact_median('history', keys + ['day'], 'past_amount', 'baseline_amount') }}
    ),
    deviations as (
        select {% for k in keys %}history.{{ k }}, {% endfor %}history.day,
            abs(history.past_amount - baselines.baseline_amount) as absolute_deviation
        from history
        join baselines
            on {% for k in keys %}baselines.{{ k }} = history.{{ k }} and {% endfor -%}
            baselines.day = history.day
    ),
    mads as (
        {{ billing.exact_median('deviations', keys + ['day'], 'absolute_deviation', 'mad_amount') }}
    ),
    final as (
        select
            {% for k in keys %}dense.{{ k }}, {% endfor %}
            dense.day,
            cast(dense.amount as numeric(38, 9)) as amount,
            baselines.baseline_amount,
            mads.mad_amount,
            cast(coalesce(baselines.baseline_amount_count, 0) as integer) as history_days,
            cast(dense.amount - baselines.baseline_amount as numeric(38, 9)) as deviation_amount,
            coalesce(
                baselines.baseline_amount_count >= {{ min_history_days }}
                and abs(dense.amount - baselines.baseline_amount)
                    > {{ mad_multiplier }} * 1.4826 * mads.mad_amount
                and abs(dense.amount - baselines.baseline_amount) >= {{ money_floor }},
                false
            ) as is_anomaly
        from dense
        left join baselines
            on {% for k in keys %}baselines.{{ k }} = dense.{{ k }} and {% endfor -%}
            baselines.day = dense.day
        left join mads
            on {% for k in keys %}mads.{{ k }} = dense.{{ k }} and {% endfor -%}
            mads.day = dense.day
    )
    select * from final
{%- endmacro %}

{#- The daily series the cost dashboards start from: effective cost per provider, service,
    currency and charge day, from fct_cloud_costs_daily. -#}
{% macro daily_cost_by_service() -%}
    select
        provider_name,
        service_name,
        currency,
        charge_date,
        sum(effective_cost) as effective_cost
    from {{ ref('fct_cloud_costs_daily') }}
    group by 1, 2, 3, 4
{%- endmacro %}
