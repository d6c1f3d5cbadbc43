{{ stg_cost_lines(
    "source_format like 'focus%'",
    "charge_type",
    "case when " ~ billing.json_get_text('extras', "'ChargeClass'") ~ " = 'Correction' then 'Correction' end"
) }}
