{#-
  The pricing engine in SQL: the same rules as ingestion/pricing.py, exactly
  (tests/integration/test_pricing_sql.py proves it on DuckDB and PostgreSQL over thousands of
  generated prices).

  rate_quantities(quantities, charges, tiers, currencies) returns a complete SELECT with one row
  per row of `quantities`: rating_id, charge_id, currency, unrounded_amount, amount. The arguments
  are relations (ref(), source()) or table / CTE names other than the rate__* CTEs below:

    quantities  rating_id (any type, passed through; one row each), charge_id, quantity
    charges     charge_id, price_model, unit_amount, package_size, flat_amount, free_units,
                currency
    tiers       charge_id, tier_index (1-based, ascending with up_to), up_to (null = infinity),
                unit_amount, flat_amount
    currencies  currency_code, minor_unit (the `currencies` seed)

  Rules (Stripe's tier semantics; quantities may be fractional):
    * billable = max(0, quantity - free_units), for every model;
    * per_unit: billable * unit_amount;
    * graduated: the billable units in each tier (previous up_to, up_to] at that tier's
      unit_amount, plus the flat_amount of every tier entered (billable > previous up_to; the
      first tier always, even at 0);
    * volume: all billable units at the unit_amount of the tier the total falls in (the first
      whose up_to >= billable, else the open-ended last), plus that tier's flat_amount;
    * package: ceil(billable / package_size) * unit_amount;
    * flat: flat_amount, whatever the quantity.
  `unrounded_amount` is exact: quantities have at most 9 decimal places and amounts at most 12,
  so numeric(38, 21) holds every product and sum exactly (up to 10^17; beyond, the database
  raises an overflow error rather than rounding). `amount` is that sum rounded once, half away
  from zero, to the currency's minor unit (0 to 4 places), as numeric(38, 9).

  An unknown currency, a missing charge, an unknown model or a tiered charge without tiers gives
  a null amount (never a missing row), for not_null tests downstream to catch.

  Two traps this avoids, both in DuckDB: round(DECIMAL, p) needs a constant p (hence the CASE
  over the minor units), and a CASE whose branches are DECIMALs of different scales takes the
  type with the most integer digits, silently dropping decimals (hence a cast in every branch).
  Dividing DECIMALs in DuckDB gives a DOUBLE, so package counts use integer division.
  round() itself rounds half away from zero on DECIMAL/numeric in both DuckDB and PostgreSQL.
-#}
{% macro rate_quantities(quantities, charges, tiers, currencies) -%}
with rate__quantities as (

    select
        rating_id,
        charge_id,
        cast(quantity as {{ quantity_type() }}) as quantity
    from {{ quantities }}

),

rate__charges as (

    select
        charge_id,
        price_model,
        cast(unit_amount as {{ price_amount_type() }}) as unit_amount,
        cast(package_size as {{ quantity_type() }}) as package_size,
        cast(flat_amount as {{ price_amount_type() }}) as flat_amount,
        cast(coalesce(free_units, 0) as {{ quantity_type() }}) as free_units,
        currency
    from {{ charges }}

),

rate__tiers as (

    select
        charge_id,
        tier_index,
        cast(up_to as {{ quantity_type() }}) as up_to,
        cast(
            lag(up_to) over (partition by charge_id order by tier_index)
            as {{ quantity_type() }}
        ) as previous_up_to,
        cast(unit_amount as {{ price_amount_type() }}) as unit_amount,
        cast(coalesce(flat_amount, 0) as {{ price_amount_type() }}) as flat_amount
    from {{ tiers }}

),

rate__billable as (

    select
        q.rating_id,
        q.charge_id,
        c.price_model,
        c.unit_amount,
        c.package_size,
        c.flat_amount,
        c.currency,
        cast(
            case
                when q.quantity > c.free_units then q.quantity - c.free_units
                else cast(0 as {{ quantity_type() }})
            end
            as {{ quantity_type() }}
        ) as billable_quantity
    from rate__quantities as q
    left join rate__charges as c
        on c.charge_id = q.charge_id

),

{#- One row per line: one for per_unit, package and flat; one per tier entered (graduated);
    the tier the quantity falls in (volume). The left join keeps every quantity. -#}
rate__lines as (

    select
        b.rating_id,
        b.charge_id,
        b.currency,
        case b.price_model
            when 'per_unit' then cast(
                b.billable_quantity * b.unit_amount as {{ unrounded_amount_type() }}
            )
            when 'package' then cast(
                {{ package_count('b.billable_quantity', 'b.package_size') }} * b.unit_amount
                as {{ unrounded_amount_type() }}
            )
            when 'flat' then cast(b.flat_amount as {{ unrounded_amount_type() }})
            when 'graduated' then cast(
                (
                    least(b.billable_quantity, coalesce(t.up_to, b.billable_quantity))
                    - coalesce(t.previous_up_to, cast(0 as {{ quantity_type() }}))
                ) * t.unit_amount
                + t.flat_amount
                as {{ unrounded_amount_type() }}
            )
            when 'volume' then cast(
                b.billable_quantity * t.unit_amount + t.flat_amount
                as {{ unrounded_amount_type() }}
            )
        end as line_amount
    from rate__billable as b
    left join rate__tiers as t
        on t.charge_id = b.charge_id
        and b.price_model in ('graduated', 'volume')
        and (t.previous_up_to is null or b.billable_quantity > t.previous_up_to)
        and (b.price_model = 'graduated' or t.up_to is null or b.billable_quantity <= t.up_to)

),

rate__totals as (

    select
        rating_id,
        charge_id,
        currency,
        cast(sum(line_amount) as {{ unrounded_amount_type() }}) as unrounded_amount
    from rate__lines
    group by rating_id, charge_id, currency

),

rate__final as (

    select
        totals.rating_id,
        totals.charge_id,
        totals.currency,
        totals.unrounded_amount,
        {{ round_to_minor_unit('totals.unrounded_amount', 'currencies.minor_unit') }} as amount
    from rate__totals as totals
    left join {{ currencies }} as currencies
        on currencies.currency_code = totals.currency

)

select * from rate__final
{%- endmacro %}


{#- Unit and flat amounts of prices: at most 12 decimal places. -#}
{% macro price_amount_type() -%}
    numeric(38, 12)
{%- endmacro %}

{#- Exact unrounded money: a quantity (9 places) times a price amount (12 places). -#}
{% macro unrounded_amount_type() -%}
    numeric(38, 21)
{%- endmacro %}

{#- Money rounded to a minor unit. -#}
{% macro money_amount_type() -%}
    numeric(38, 9)
{%- endmacro %}


{#- `amount` rounded half away from zero to `minor_unit` (0 to 4) places, as money_amount_type.
    DuckDB wants a constant number of places, and each branch is cast on its own so the CASE
    keeps every decimal; the outer cast keeps the type on PostgreSQL, where the CASE's implicit
    `else null` would make it plain numeric. Any other minor unit gives null. -#}
{% macro round_to_minor_unit(amount, minor_unit) -%}
    cast(
        case {{ minor_unit }}
            {%- for places in range(5) %}
            when {{ places }} then cast(round({{ amount }}, {{ places }}) as {{ money_amount_type() }})
            {%- endfor %}
        end
        as {{ money_amount_type() }}
    )
{%- endmacro %}


{#- ceil(quantity / package_size) for a quantity >= 0 and a package size > 0, both with at most
    9 decimal places, computed exactly (no floating-point division). -#}
{% macro package_count(quantity, package_size) -%}
    {{ return(adapter.dispatch('package_count', 'billing')(quantity, package_size)) }}
{%- endmacro %}

{#- DuckDB divides DECIMALs as DOUBLEs: scale both to whole billionths and divide integers. -#}
{% macro default__package_count(quantity, package_size) -%}
    cast(
        (
            cast({{ quantity }} * 1000000000 as hugeint)
            + cast({{ package_size }} * 1000000000 as hugeint) - 1
        ) // cast({{ package_size }} * 1000000000 as hugeint)
        as numeric(38, 0)
    )
{%- endmacro %}

{#- PostgreSQL's div() and mod() on numeric are exact. -#}
{% macro postgres__package_count(quantity, package_size) -%}
    cast(
        div({{ quantity }}, {{ package_size }})
        + case when mod({{ quantity }}, {{ package_size }}) > 0 then 1 else 0 end
        as numeric(38, 0)
    )
{%- endmacro %}


{#-
  Proration, the same rule as ingestion.pricing.prorate: `amount` x `numerator` / `denominator`
  (remaining days including the change day / days in the period, or whole seconds), rounded
  half-up to `minor_unit` places, computed exactly with integer division (DuckDB would divide
  DECIMALs as DOUBLEs): the amount is made an integer of 10^-12 units first, so a numerator of
  seconds cannot overflow DECIMAL(38). For amounts >= 0 with at most 12 decimal places.
-#}
{% macro prorated_amount(amount, numerator, denominator, minor_unit) -%}
    case {{ minor_unit }}
        {%- for places in range(5) %}
        when {{ places }} then cast(
            {{ integer_div(
                "cast(" ~ amount ~ " * " ~ (10 ** 12) ~ " as " ~ big_integer_type() ~ ") * cast(" ~ numerator ~ " as " ~ big_integer_type() ~ ") * " ~ (10 ** places) ~ " * 2 + cast(" ~ denominator ~ " as " ~ big_integer_type() ~ ") * " ~ (10 ** 12),
                "cast(" ~ denominator ~ " as " ~ big_integer_type() ~ ") * " ~ (2 * 10 ** 12)
            ) }} as {{ money_amount_type() }}
        ) * cast({{ "1" if places == 0 else "0." ~ "0" * (places - 1) ~ "1" }} as {{ money_amount_type() }})
        {%- endfor %}
    end
{%- endmacro %}

{#-
  The share of a period that a prorated fee line covers, in the plan's `unit` ('day' or
  'second', the same rule as billing.rules.proration.remaining_share): from the instant
  `from_at` to the period's end, over the whole period. Days count the change day as
  remaining; seconds are whole seconds. Integers, so prorated_amount stays exact.
-#}
{% macro share_remaining(unit, from_at, period_end) -%}
    case when {{ unit }} = 'second'
        then cast({{ dbt.datediff(from_at, 'cast(' ~ period_end ~ ' as timestamp)', 'second') }}
                  as bigint)
        else cast({{ dbt.datediff('cast(' ~ from_at ~ ' as date)', period_end, 'day') }} as bigint)
    end
{%- endmacro %}

{% macro share_whole(unit, period_start, period_end) -%}
    case when {{ unit }} = 'second'
        then cast({{ dbt.datediff('cast(' ~ period_start ~ ' as timestamp)',
                                  'cast(' ~ period_end ~ ' as timestamp)', 'second') }} as bigint)
        else cast({{ dbt.datediff(period_start, period_end, 'day') }} as bigint)
    end
{%- endmacro %}

{#- How an invoice line describes the share: '15/30 days', '1263600/2592000 s'. -#}
{% macro share_text(unit, from_at, period_start, period_end) -%}
    cast({{ share_remaining(unit, from_at, period_end) }} as {{ dbt.type_string() }}) || '/'
        || cast({{ share_whole(unit, period_start, period_end) }} as {{ dbt.type_string() }})
        || case when {{ unit }} = 'second' then ' s' else ' days' end
{%- endmacro %}

{% macro big_integer_type() -%}
    {{ return(adapter.dispatch('big_integer_type', 'billing')()) }}
{%- endmacro %}

{% macro default__big_integer_type() -%}hugeint{%- endmacro %}

{% macro postgres__big_integer_type() -%}numeric(38, 0){%- endmacro %}

{#- floor(a / b) for integers a >= 0, b > 0, exactly. -#}
{% macro integer_div(a, b) -%}
    {{ return(adapter.dispatch('integer_div', 'billing')(a, b)) }}
{%- endmacro %}

{% macro default__integer_div(a, b) -%}({{ a }}) // ({{ b }}){%- endmacro %}

{% macro postgres__integer_div(a, b) -%}div({{ a }}, {{ b }}){%- endmacro %}

{#- What a coupon takes off `remaining` (what the previous coupons left): `percent_off` of it
    rounded half-up to the currency's minor unit, or `amount_off` rounded, never more than
    `remaining`. coupon: the relation with percent_off, amount_off and minor_unit. -#}
{% macro coupon_discount(remaining, coupon) -%}
    least(
        case
            when {{ coupon }}.percent_off is not null then
                {{ round_to_minor_unit(
                    remaining ~ ' * ' ~ coupon ~ '.percent_off * 0.01', coupon ~ '.minor_unit') }}
            else {{ round_to_minor_unit(coupon ~ '.amount_off', coupon ~ '.minor_unit') }}
        end,
        {{ remaining }}
    )
{%- endmacro %}
