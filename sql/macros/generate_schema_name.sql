{#
  Models go to the schema their layer names (staging, intermediate, marts), not to dbt's default
  "<target schema>_<custom schema>": analysts, the tests and the ingest tasks know the warehouse
  by these names on DuckDB and PostgreSQL alike.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
