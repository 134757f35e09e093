{#
  Incremental strategy "replace_changed" (the marts' `incremental_strategy`): the model's SQL
  gives the mart's whole new state (in a temporary table, never shown to readers); the mart's
  rows are replaced only in the partitions - values of `unique_key`, e.g. kpi_date - whose rows
  differ from what the mart holds: a row added, changed or gone. Partitions that did not change
  are not written. Delete and insert run in the model's transaction: readers see the previous
  rows until the commit, then the new ones.

  Exact by construction: whatever changed upstream (a late review, a re-delivery that drops an
  item, a restated sales day, a new product or campaign snapshot, a re-tiered ambassador), the
  partitions whose KPI rows move are exactly the ones rewritten; a --full-refresh builds the same
  table (tests/properties/test_incremental_marts.py).
#}
{% macro get_incremental_replace_changed_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set keys = arg_dict["unique_key"] -%}
    {%- if keys is string -%}{%- set keys = [keys] -%}{%- endif -%}
    {%- if not keys -%}
        {{ exceptions.raise_compiler_error("replace_changed needs unique_key: the partition column(s) of " ~ target) }}
    {%- endif -%}
    {%- set key_list = keys | join(", ") -%}
    {%- set cols = arg_dict["dest_columns"] | map(attribute="quoted") | join(", ") -%}
    {%- set changed = ugc_changed_partitions_relation(target) -%}

    create temporary table {{ changed }} as
    select distinct {{ key_list }}
    from (
        (select {{ cols }} from {{ source }} except select {{ cols }} from {{ target }})
        union all
        (select {{ cols }} from {{ target }} except select {{ cols }} from {{ source }})
    ) as differing;

    delete from {{ target }}
    where ({{ key_list }}) in (select {{ key_list }} from {{ changed }});

    insert into {{ target }} ({{ cols }})
    select {{ cols }}
    from {{ source }}
    where ({{ key_list }}) in (select {{ key_list }} from {{ changed }});

    drop table {{ changed }}
{% endmacro %}

{% macro ugc_changed_partitions_relation(target) -%}
    {{ return(adapter.dispatch('ugc_changed_partitions_relation', 'ugc_kpi')(target)) }}
{%- endmacro %}

{% macro default__ugc_changed_partitions_relation(target) -%}
    {{ target.identifier }}__changed_partitions
{%- endmacro %}
