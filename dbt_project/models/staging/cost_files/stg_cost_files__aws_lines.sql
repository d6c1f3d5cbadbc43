{#- CUR line item types as FOCUS charge categories (the FOCUS conversion of CUR). -#}
{{ stg_cost_lines(
    "source_format in ('aws-cur', 'aws-cur2')",
    "case
            when charge_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Usage'
            when charge_type = 'Tax' then 'Tax'
            when charge_type in ('Credit', 'Refund', 'BundledDiscount', 'Discount',
                'EdpDiscount', 'PrivateRateDiscount', 'SavingsPlanNegation',
                'DistributorDiscount') then 'Credit'
            when charge_type in ('Fee', 'RIFee', 'SavingsPlanUpfrontFee',
                'SavingsPlanRecurringFee') then 'Purchase'
            else 'Adjustment'
        end",
    "case when charge_type = 'Refund' then 'Correction' end"
) }}
