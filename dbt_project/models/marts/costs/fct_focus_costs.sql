{#- Every current cloud cost line in FOCUS 1.2 columns (names as the specification writes
    them; quote them in SQL), whatever the source format; extras carry the `x_` prefix. -#}
with

lines as (

    select * from {{ ref('int_cost_lines_current') }}

),

final as (

    select
        billed_cost as "BilledCost",
        effective_cost as "EffectiveCost",
        list_cost as "ListCost",
        contracted_cost as "ContractedCost",
        billing_currency as "BillingCurrency",
        billing_account_id as "BillingAccountId",
        billing_account_name as "BillingAccountName",
        billing_period_start as "BillingPeriodStart",
        billing_period_end as "BillingPeriodEnd",
        charge_period_start as "ChargePeriodStart",
        charge_period_end as "ChargePeriodEnd",
        charge_category as "ChargeCategory",
        charge_class as "ChargeClass",
        charge_description as "ChargeDescription",
        consumed_quantity as "ConsumedQuantity",
        consumed_unit as "ConsumedUnit",
        pricing_quantity as "PricingQuantity",
        pricing_unit as "PricingUnit",
        provider_name as "ProviderName",
        provider_name as "ServiceProviderName",
        region_id as "RegionId",
        resource_id as "ResourceId",
        resource_name as "ResourceName",
        service_category as "ServiceCategory",
        service_name as "ServiceName",
        sku_id as "SkuId",
        sub_account_id as "SubAccountId",
        sub_account_name as "SubAccountName",
        tags as "Tags",
        cost_line_id as x_cost_line_id,
        file_id as x_file_id,
        row_number as x_row_number,
        source_format as x_source_format,
        charge_type as x_source_charge_type,
        extras as x_source_columns
    from lines

)

select * from final
