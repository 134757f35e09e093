{#
  Keys and indexes of the marts (the marts' post-hook, dbt_project.yml), from each mart's YAML:
  `config.meta.grain` with `unique_grain: true` becomes the table's unique key, and every entry
  of `config.meta.indexes` a b-tree index.

  PostgreSQL: the key is the primary key when no grain column may be null (every grain column
  has a not_null test or constraint), else UNIQUE NULLS NOT DISTINCT, so that two rows
  (day, brand, sku = NULL, ...) are a duplicate. DuckDB and others: nothing (no NULLS NOT
  DISTINCT; ART indexes slow bulk inserts and must fit in memory; see ugc_pipeline/dialects.py);
  the unique_grain tests check the grain on every warehouse.

  Only what is missing is created, found by the table and the columns, never by name: an
  incremental run finds everything in place and runs no DDL (no lock beyond its own writes);
  a first build or a --full-refresh (a new table, renamed over the old one, whose indexes still
  exist until its backup is dropped after the commit) gets everything. PostgreSQL names what it
  creates (<table>_pkey, <table>_<columns>_key, <table>_<columns>_idx), choosing a name no other
  relation of the schema holds and cutting it to 63 bytes, so a name never collides (after a
  --full-refresh, while the old table still holds <table>_pkey, the new key is <table>_pkey1).
  The hook runs inside the model's transaction: readers see the keys with the new rows.
#}
{% macro ugc_mart_keys() -%}
    {{ return(adapter.dispatch('ugc_mart_keys', 'ugc_kpi')()) }}
{%- endmacro %}

{% macro default__ugc_mart_keys() -%}
{%- endmacro %}

{% macro postgres__ugc_mart_keys() -%}
    {%- if execute -%}
        {%- set statements = ugc_missing_key_statements(this, model) -%}
        {%- if statements -%}
            {{ log("ugc_mart_keys: " ~ this ~ ": " ~ (statements | join("; ")), info=false) }}
            {{ statements | join(";\n") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# The DDL that gives `relation` the key and indexes `node` declares and it lacks. #}
{% macro ugc_missing_key_statements(relation, node) -%}
    {%- set meta = (node.config or {}).get('meta') or node.get('meta') or {} -%}
    {%- set grain = meta.get('grain') or [] -%}
    {%- set wanted_indexes = meta.get('indexes') or [] -%}
    {%- if meta.get('unique_grain') and not grain -%}
        {{ exceptions.raise_compiler_error(node.name ~ ": unique_grain without a grain (config.meta.grain)") }}
    {%- endif -%}
    {%- set declared = node.columns.keys() | list -%}
    {%- for cols in [grain] + wanted_indexes -%}
        {%- for c in cols if c not in declared -%}
            {{ exceptions.raise_compiler_error(node.name ~ ": the grain or an index names " ~ c ~ ", not a documented column") }}
        {%- endfor -%}
    {%- endfor -%}

    {#- what the table has: (unique, primary, nulls not distinct, columns) per plain-column index -#}
    {%- set found = run_query(
        "select x.indisunique, x.indisprimary, x.indnullsnotdistinct, "
        ~ "array_to_string(array(select a.attname from unnest(x.indkey::int2[]) with ordinality k(attnum, ord) "
        ~ "join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum order by k.ord), ',') "
        ~ "from pg_index x where x.indrelid = " ~ dbt.string_literal(relation.include(database=False)) ~ "::regclass "
        ~ "and x.indpred is null and x.indexprs is null") -%}
    {%- set existing = [] -%}
    {%- for row in found.rows -%}
        {%- do existing.append({"unique": row[0], "primary": row[1], "nnd": row[2], "cols": row[3]}) -%}
    {%- endfor -%}

    {%- set statements = [] -%}
    {%- if meta.get('unique_grain') -%}
        {%- set nullable = ugc_nullable_columns(node, grain) -%}
        {%- set key_found = existing | selectattr("unique") | selectattr("cols", "equalto", grain | join(",")) | list -%}
        {%- if nullable -%}
            {#- a unique index whose NULLs are distinct would let (day, NULL, ...) in twice -#}
            {%- set key_found = key_found | selectattr("nnd") | list -%}
        {%- endif -%}
        {%- if not key_found -%}
            {%- set cols = ugc_quoted_columns(grain) -%}
            {%- if nullable -%}
                {%- do statements.append("alter table " ~ relation ~ " add unique nulls not distinct (" ~ cols ~ ")") -%}
            {%- else -%}
                {%- do statements.append("alter table " ~ relation ~ " add primary key (" ~ cols ~ ")") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- for index in wanted_indexes -%}
        {%- if not (existing | selectattr("cols", "equalto", index | join(",")) | list) -%}
            {%- do statements.append("create index on " ~ relation ~ " (" ~ ugc_quoted_columns(index) ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{# The columns among `names` that may be null: no not_null data test on them and no not_null
   constraint in the model's YAML. #}
{% macro ugc_nullable_columns(node, names) -%}
    {%- set not_null = [] -%}
    {%- for test in graph.nodes.values() if test.resource_type == 'test'
            and test.attached_node == node.unique_id
            and (test.test_metadata or {}).get('name') == 'not_null' -%}
        {%- do not_null.append(test.column_name) -%}
    {%- endfor -%}
    {%- for name, column in node.columns.items() -%}
        {%- for constraint in column.get('constraints') or [] if constraint.get('type') == 'not_null' -%}
            {%- do not_null.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names | reject("in", not_null) | list) }}
{%- endmacro %}

{% macro ugc_quoted_columns(names) -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}
        {%- do quoted.append(adapter.quote(name)) -%}
    {%- endfor -%}
    {{ return(quoted | join(", ")) }}
{%- endmacro %}
