{#- Azure charge types as FOCUS charge categories. -#}
{{ stg_cost_lines(
    "source_format in ('azure-ea', 'azure-mca')",
    "case
            when charge_type in ('Usage', 'UnusedReservation', 'UnusedSavingsPlan') then 'Usage'
            when charge_type = 'Purchase' then 'Purchase'
            when charge_type = 'Tax' then 'Tax'
            when charge_type = 'Refund' then 'Credit'
            else 'Adjustment'
        end",
    "case when charge_type = 'Refund' then 'Correction' end"
) }}
