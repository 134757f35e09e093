{#
  The portable helpers the models call. DuckDB and PostgreSQL differ here and nowhere else in the
  SQL: each helper dispatches to duckdb__<name> or postgres__<name> (adapter.dispatch).
  Arguments are SQL expressions (column names, or a quoted literal for a pattern).
#}

{# The KPI day of a UTC timestamp in the zone of the KPI calendar (UGC_TIMEZONE, the var
   kpi_timezone; the pipeline passes it, checked against the IANA database, on every run). #}
{% macro ugc_local_date(ts) -%}
    {{ return(adapter.dispatch('ugc_local_date', 'ugc_kpi')(ts)) }}
{%- endmacro %}

{% macro duckdb__ugc_local_date(ts) -%}
    cast(timezone({{ ugc_kpi_timezone() }}, {{ ts }}) as date)
{%- endmacro %}

{% macro postgres__ugc_local_date(ts) -%}
    cast(({{ ts }}) at time zone {{ ugc_kpi_timezone() }} as date)
{%- endmacro %}

{% macro ugc_kpi_timezone() -%}
    {{ dbt.string_literal(var('kpi_timezone')) }}
{%- endmacro %}

{# Text as ' word word ': lower case, every character that is not a letter, a digit or '_'
   (spaces, '#', punctuation, emoji) turned into a space, for whole-word hashtag matching.
   PostgreSQL: letters follow the database's LC_CTYPE; use a UTF-8 locale (C.UTF-8...), with
   which non-ASCII letters match as on DuckDB. #}
{% macro ugc_hashtag_text(s) -%}
    {{ return(adapter.dispatch('ugc_hashtag_text', 'ugc_kpi')(s)) }}
{%- endmacro %}

{% macro duckdb__ugc_hashtag_text(s) -%}
    (' ' || trim(regexp_replace(lower(coalesce({{ s }}, '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ')
{%- endmacro %}

{% macro postgres__ugc_hashtag_text(s) -%}
    (' ' || trim(regexp_replace(lower(coalesce({{ s }}, '')), '[^[:alnum:]_]+', ' ', 'g')) || ' ')
{%- endmacro %}

{# A space-separated list as an array (campaign hashtags, exposed zones). #}
{% macro ugc_words(s) -%}
    {{ return(adapter.dispatch('ugc_words', 'ugc_kpi')(s)) }}
{%- endmacro %}

{% macro duckdb__ugc_words(s) -%}
    string_split(trim(regexp_replace(coalesce({{ s }}, ''), '\s+', ' ', 'g')), ' ')
{%- endmacro %}

{% macro postgres__ugc_words(s) -%}
    string_to_array(trim(regexp_replace(coalesce({{ s }}, ''), '\s+', ' ', 'g')), ' ')
{%- endmacro %}

{# The first capture group of a regular expression, NULL when it does not match. #}
{% macro ugc_regexp_extract(s, pattern) -%}
    {{ return(adapter.dispatch('ugc_regexp_extract', 'ugc_kpi')(s, pattern)) }}
{%- endmacro %}

{% macro duckdb__ugc_regexp_extract(s, pattern) -%}
    nullif(regexp_extract({{ s }}, {{ pattern }}, 1), '')
{%- endmacro %}

{% macro postgres__ugc_regexp_extract(s, pattern) -%}
    nullif((regexp_match({{ s }}, {{ pattern }}))[1], '')
{%- endmacro %}

{# A timestamp from unix seconds given as text. #}
{% macro ugc_from_unix_seconds(s) -%}
    {{ return(adapter.dispatch('ugc_from_unix_seconds', 'ugc_kpi')(s)) }}
{%- endmacro %}

{% macro default__ugc_from_unix_seconds(s) -%}
    to_timestamp(cast({{ s }} as bigint))
{%- endmacro %}
