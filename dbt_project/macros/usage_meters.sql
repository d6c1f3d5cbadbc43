{#-
  The meters as known to this run, read from the control-plane snapshot while the models
  execute, so JSON properties are extracted with constant paths in one pass per event:

    properties:  every data property a meter reads (value or group-by), sorted
    value_index: meter key -> 1-based position of its value property (absent for `count`)
    group_by:    meter key -> list of 1-based positions of its group-by properties

  Returns empty structures while dbt parses. Unit tests override it.
-#}
{% macro usage_meter_spec() -%}
    {%- set spec = {'properties': [], 'value_index': {}, 'group_by': {}} -%}
    {%- if execute -%}
        {%- set rows = run_query(
            "select meter_key, value_property, group_by_json from "
            ~ ref('stg_control_plane__meters') ~ " order by meter_key"
        ) -%}
        {%- set meters = [] -%}
        {%- for row in rows -%}
            {%- set group_by = fromjson(row[2]) if row[2] else [] -%}
            {%- do meters.append({'key': row[0], 'value': row[1], 'group_by': group_by}) -%}
            {%- for p in ([row[1]] if row[1] else []) + group_by -%}
                {%- if p not in spec.properties -%}{%- do spec.properties.append(p) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do spec.properties.sort() -%}
        {%- for m in meters -%}
            {%- if m.value -%}
                {%- do spec.value_index.update({m.key: spec.properties.index(m.value) + 1}) -%}
            {%- endif -%}
            {%- if m.group_by -%}
                {%- do spec.group_by.update({m.key: m.group_by | map('string') | list}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}
