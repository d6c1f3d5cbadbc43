{#-
  Billing periods of a subscription's terms in SQL: the same rules as
  billing/rules/billing_terms.py (BillingTerms.period(n)), exactly
  (tests/integration/test_billing_terms_sql.py proves it on DuckDB and PostgreSQL over hundreds
  of generated terms). Not yet used by a model: subscriptions still bill on UTC calendar months.

  Every argument is a SQL expression (a column name or a literal such as "'month'"):
    interval        'week', 'month', 'quarter', 'half_year' or 'year'
    interval_count  integer >= 1 (every 2 weeks, every 3 months)
    anchor          'calendar' (Monday, the 1st, the quarter, the half-year, 1 January) or
                    'anniversary' (the anchor date itself)
    anchor_date     date, local to time_zone: the subscription's start (or its trial's end)
    time_zone       IANA name ('Asia/Tokyo')
    period_index    integer n: 0 is the period that starts on (anniversary) or holds
                    (calendar) the anchor date

  Period n starts on the local date origin + n x count intervals, computed from the origin in
  one step (so month ends clamp and return: 31 January, 29 February, 31 March, 30 April); as an
  instant it is that date's local midnight in UTC (timestamp without time zone). A midnight that
  does not exist is the instant the clocks skip, a repeated one its second occurrence: what both
  databases' AT TIME ZONE give.

  billing_period_bounds(...) gives two columns, `<start_column>` and `<end_column>` (exclusive:
  the start of period n + 1).
-#}
{% macro billing_period_bounds(interval, interval_count, anchor, anchor_date, time_zone, period_index, start_column='period_start_at', end_column='period_end_at') -%}
    {{ billing_period_start_at(interval, interval_count, anchor, anchor_date, time_zone, period_index) }} as {{ start_column }},
    {{ billing_period_start_at(interval, interval_count, anchor, anchor_date, time_zone, '(' ~ period_index ~ ') + 1') }} as {{ end_column }}
{%- endmacro %}

{#- The UTC instant period `period_index` starts at. -#}
{% macro billing_period_start_at(interval, interval_count, anchor, anchor_date, time_zone, period_index) -%}
    {{ local_midnight_utc(billing_period_start_date(interval, interval_count, anchor, anchor_date, period_index), time_zone) }}
{%- endmacro %}

{#- The local date period `period_index` starts on. -#}
{% macro billing_period_start_date(interval, interval_count, anchor, anchor_date, period_index) -%}
    {%- set origin = billing_period_origin(interval, anchor, anchor_date) -%}
    (case
        when {{ interval }} = 'week'
            then cast({{ origin }} + 7 * cast({{ interval_count }} as integer) * cast({{ period_index }} as integer) as date)
        else {{ add_months(origin, 'cast(' ~ interval_count ~ ' as integer) * cast(' ~ period_index ~ ' as integer) * ' ~ billing_interval_months(interval)) }}
    end)
{%- endmacro %}

{#- The local date period 0 starts on: the anchor date (anniversary) or the start of the
    calendar period that holds it (calendar: Monday, the 1st of the month, quarter, half-year
    or year). -#}
{% macro billing_period_origin(interval, anchor, anchor_date) -%}
    {%- set month = 'cast(extract(month from ' ~ anchor_date ~ ') as integer)' -%}
    (case
        when {{ anchor }} = 'anniversary' then cast({{ anchor_date }} as date)
        when {{ interval }} = 'week'
            then cast({{ anchor_date }} - (cast(extract(isodow from {{ anchor_date }}) as integer) - 1) as date)
        else make_date(
            cast(extract(year from {{ anchor_date }}) as integer),
            {{ month }} - ({{ month }} - 1) % {{ billing_interval_months(interval) }},
            1
        )
    end)
{%- endmacro %}

{#- Months in one interval (null for a week). -#}
{% macro billing_interval_months(interval) -%}
    (case {{ interval }} when 'month' then 1 when 'quarter' then 3 when 'half_year' then 6 when 'year' then 12 end)
{%- endmacro %}

{#- A date moved by a whole number of months, its day clamped to the end of a shorter month
    (both databases clamp date + interval this way). -#}
{% macro add_months(day, months) -%}
    {{ return(adapter.dispatch('add_months', 'billing')(day, months)) }}
{%- endmacro %}

{% macro default__add_months(day, months) -%}
    cast({{ day }} + to_months(cast({{ months }} as integer)) as date)
{%- endmacro %}

{% macro postgres__add_months(day, months) -%}
    cast({{ day }} + make_interval(months => cast({{ months }} as integer)) as date)
{%- endmacro %}

{#- The UTC instant (timestamp without time zone) a local date starts at in an IANA zone. -#}
{% macro local_midnight_utc(day, time_zone) -%}
    {{ return(adapter.dispatch('local_midnight_utc', 'billing')(day, time_zone)) }}
{%- endmacro %}

{% macro default__local_midnight_utc(day, time_zone) -%}
    timezone('UTC', timezone({{ time_zone }}, cast({{ day }} as timestamp)))
{%- endmacro %}

{% macro postgres__local_midnight_utc(day, time_zone) -%}
    ((cast({{ day }} as timestamp) at time zone {{ time_zone }}) at time zone 'UTC')
{%- endmacro %}
