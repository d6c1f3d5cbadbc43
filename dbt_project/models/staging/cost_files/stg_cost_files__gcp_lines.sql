{#- GCP cost types as FOCUS charge categories (credits are netted into EffectiveCost). -#}
{{ stg_cost_lines(
    "source_format = 'gcp'",
    "case coalesce(charge_type, 'regular')
            when 'regular' then 'Usage'
            when 'tax' then 'Tax'
            else 'Adjustment'
        end"
) }}
