{#- The landed rows of one format family, renamed to the columns every provider's staging
    model shares; `charge_category` and `charge_class` are SQL expressions over `charge_type`
    (the source's own charge or line item type). -#}
{% macro stg_cost_lines(formats_condition, charge_category, charge_class="cast(null as " ~ dbt.type_string() ~ ")") -%}
with

source as (

    select * from {{ source('cost_files', 'cost_file_rows') }}
    where {{ formats_condition }}

),

renamed as (

    select
        file_id || ':' || cast(row_number as {{ dbt.type_string() }}) as cost_line_id,
        file_id,
        row_number,
        source_format,
        provider_name,
        billing_account_id,
        billing_account_name,
        sub_account_id,
        sub_account_name,
        upper(billing_currency) as billing_currency,
        billing_period_start,
        billing_period_end,
        charge_period_start,
        coalesce(charge_period_end, charge_period_start) as charge_period_end,
        {{ charge_category }} as charge_category,
        {{ charge_class }} as charge_class,
        charge_type,
        charge_description,
        service_name,
        service_category,
        region_id,
        resource_id,
        resource_name,
        sku_id,
        consumed_quantity,
        consumed_unit,
        pricing_quantity,
        pricing_unit,
        cast(billed_cost as {{ cost_amount_type() }}) as billed_cost,
        cast(effective_cost as {{ cost_amount_type() }}) as effective_cost,
        cast(list_cost as {{ cost_amount_type() }}) as list_cost,
        cast(contracted_cost as {{ cost_amount_type() }}) as contracted_cost,
        tags,
        extras

    from source

)

select * from renamed
{%- endmacro %}

{#- The text of tag `key_expression` (SQL) of a JSON object of tags (any key characters). -#}
{% macro tag_value(tags_column, key_expression) -%}
    {{ return(adapter.dispatch('tag_value', 'billing')(tags_column, key_expression)) }}
{%- endmacro %}

{% macro default__tag_value(tags_column, key_expression) -%}
    json_extract_string({{ tags_column }}, '$."' || replace({{ key_expression }}, '"', '\\"') || '"')
{%- endmacro %}

{% macro postgres__tag_value(tags_column, key_expression) -%}
    (cast({{ tags_column }} as jsonb) ->> {{ key_expression }})
{%- endmacro %}

{#- Exact integer floor division and remainder of non-negative whole numbers. -#}
{% macro int_div(a, b) -%}
    {{ return(adapter.dispatch('int_div', 'billing')(a, b)) }}
{%- endmacro %}

{% macro default__int_div(a, b) -%}
    (cast({{ a }} as hugeint) // cast({{ b }} as hugeint))
{%- endmacro %}

{% macro postgres__int_div(a, b) -%}
    div(cast({{ a }} as numeric), cast({{ b }} as numeric))
{%- endmacro %}

{% macro int_mod(a, b) -%}
    {{ return(adapter.dispatch('int_mod', 'billing')(a, b)) }}
{%- endmacro %}

{% macro default__int_mod(a, b) -%}
    (cast({{ a }} as hugeint) % cast({{ b }} as hugeint))
{%- endmacro %}

{% macro postgres__int_mod(a, b) -%}
    mod(cast({{ a }} as numeric), cast({{ b }} as numeric))
{%- endmacro %}

{#- 10^minor_unit (0 to 4) as an exact whole number. -#}
{% macro minor_unit_scale(minor_unit) -%}
    cast(case {{ minor_unit }} when 0 then 1 when 1 then 10 when 2 then 100 when 3 then 1000
        when 4 then 10000 end as numeric(38, 0))
{%- endmacro %}

{#- A whole number of minor units as an amount (exact: a multiplication, never a division). -#}
{% macro minor_units_to_amount(units, minor_unit) -%}
    cast(case {{ minor_unit }}
        {%- for places in range(5) %}
        when {{ places }} then cast({{ units }} * {{ "1" if places == 0 else "0." ~ "0" * (places - 1) ~ "1" }} as numeric(38, 9))
        {%- endfor %}
    end as numeric(38, 9))
{%- endmacro %}

{#- Cost amounts, usage quantities and unit prices of cloud cost lines, at the scale they are
    landed with (ingestion.costs.formats.COST_PLACES): 20 decimal places, 18 integer digits.
    Sums stay in this type (DuckDB sums decimal(38, 20) exactly and fails on overflow, past
    about 1.7e18). Rounded only where money becomes a figure (the minor unit). -#}
{% macro cost_amount_type() -%}
    numeric(38, 20)
{%- endmacro %}

{#- Whole 10^-20 units of a cost amount (exact; DuckDB's decimal(38, 20) cannot be multiplied
    by 10^20 in place, so the digits are read from its fixed-scale text). -#}
{% macro cost_units(amount) -%}
    {{ return(adapter.dispatch('cost_units', 'billing')(amount)) }}
{%- endmacro %}

{% macro default__cost_units(amount) -%}
    cast(replace(cast(cast({{ amount }} as {{ cost_amount_type() }}) as varchar), '.', '') as hugeint)
{%- endmacro %}

{% macro postgres__cost_units(amount) -%}
    cast(cast({{ amount }} as {{ cost_amount_type() }}) * 100000000000000000000 as numeric(38, 0))
{%- endmacro %}

{#- Whole 10^-20 units back to an amount (a multiplication, never a division). -#}
{% macro cost_units_to_amount(units) -%}
    cast({{ units }} * 0.00000000000000000001 as {{ cost_amount_type() }})
{%- endmacro %}
