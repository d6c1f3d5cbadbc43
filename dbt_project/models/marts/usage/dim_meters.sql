{{ config(contract={'enforced': true}) }}

with

meters as (

    select * from {{ ref('stg_control_plane__meters') }}

),

final as (

    select
        cast(meter_key as {{ dbt.type_string() }}) as meter_key,
        cast(meter_name as {{ dbt.type_string() }}) as meter_name,
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(aggregation as {{ dbt.type_string() }}) as aggregation,
        cast(value_property as {{ dbt.type_string() }}) as value_property,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(group_by_json as {{ dbt.type_string() }}) as group_by_json,
        cast(created_at as timestamp) as created_at,
        cast(archived_at as timestamp) as archived_at,
        cast(is_archived as boolean) as is_archived

    from meters

)

select * from final
