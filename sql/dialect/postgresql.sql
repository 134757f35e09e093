-- PostgreSQL versions of the helpers in sql/dialect/duckdb.sql (same names, same results).

-- The zone of the KPI calendar, as stored in meta.pipeline_settings (UGC_TIMEZONE).
create or replace function ugc_kpi_timezone() returns text
    language sql stable as
$$ select timezone from meta.pipeline_settings limit 1 $$;

-- The KPI day of a UTC timestamp. A mart rebuild also puts the zone in the setting ugc.timezone
-- for its transaction (ugc_pipeline.dialects.Dialect.set_kpi_timezone): without a sub-query the
-- function is inlined into the models' queries (about 10 times faster over millions of rows);
-- a session without the setting (an analyst reading the views) reads meta.pipeline_settings.
create or replace function ugc_local_date(ts timestamptz) returns date
    language sql stable as
$$ select cast(ts at time zone coalesce(nullif(current_setting('ugc.timezone', true), ''), ugc_kpi_timezone()) as date) $$;

-- Text as ' word word ': lower case, every character that is not a letter, a digit or '_' turned
-- into a space. Letters and case follow the database's LC_CTYPE: use a UTF-8 locale (C.UTF-8,
-- en_US.UTF-8...), with which non-ASCII letters match as on DuckDB (not the "C" locale).
create or replace function ugc_hashtag_text(s text) returns text
    language sql immutable as
$$ select ' ' || trim(regexp_replace(lower(coalesce(s, '')), '[^[:alnum:]_]+', ' ', 'g')) || ' ' $$;

-- A space-separated list as an array (campaign hashtags, exposed zones).
create or replace function ugc_words(s text) returns text[]
    language sql immutable as
$$ select string_to_array(trim(regexp_replace(coalesce(s, ''), '\s+', ' ', 'g')), ' ') $$;

-- The first capture group of a regular expression, NULL when it does not match.
create or replace function ugc_regexp_extract(s text, pattern text) returns text
    language sql immutable as
$$ select nullif((regexp_match(s, pattern))[1], '') $$;

-- A timestamp from unix seconds given as text.
create or replace function ugc_from_unix_seconds(s text) returns timestamptz
    language sql immutable as
$$ select to_timestamp(cast(s as bigint)) $$;
