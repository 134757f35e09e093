{#
  PostgreSQL views are replaced in place (`create or replace view`), not swapped in as dbt's
  default view materialization does (create beside, rename, then drop the old view with CASCADE,
  which also drops every view an analyst built on it). When the view's columns changed in a way
  `create or replace` refuses (a column renamed, retyped or removed: invalid_table_definition),
  it is dropped with its dependants and created again, with a warning; the project's own
  dependent views are rebuilt after it in the same run. One transaction either way.
#}
{%- materialization view, adapter='postgres' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif %}
    {% call statement('main') -%}
        do $ugc_view_outer$
        begin
            execute $ugc_view_body$ create or replace view {{ target_relation }} as (
{{ sql }}
            ) $ugc_view_body$;
        exception when invalid_table_definition then
            raise warning 'view % changed its columns: dropped with its dependants and created again',
                {{ dbt.string_literal(target_relation | string) }};
            execute $ugc_view_drop$ drop view if exists {{ target_relation }} cascade $ugc_view_drop$;
            execute $ugc_view_body$ create view {{ target_relation }} as (
{{ sql }}
            ) $ugc_view_body$;
        end
        $ugc_view_outer$
    {%- endcall %}
    {% do apply_grants(target_relation, grant_config, should_revoke=True) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}
