-- PostgreSQL versions of the helpers in sql/dialect/duckdb.sql (same names, same results).

create or replace function ugc_local_date(ts timestamptz) returns date
    language sql stable as
$$ select cast(ts at time zone (select timezone from meta.pipeline_settings limit 1) as date) $$;

create or replace function ugc_hashtag_text(s text) returns text
    language sql immutable as
$$ select ' ' || trim(regexp_replace(lower(coalesce(s, '')), '[^[:alnum:]_]+', ' ', 'g')) || ' ' $$;

create or replace function ugc_words(s text) returns text[]
    language sql immutable as
$$ select string_to_array(trim(regexp_replace(coalesce(s, ''), '\s+', ' ', 'g')), ' ') $$;

create or replace function ugc_regexp_extract(s text, pattern text) returns text
    language sql immutable as
$$ select nullif((regexp_match(s, pattern))[1], '') $$;

create or replace function ugc_from_unix_seconds(s text) returns timestamptz
    language sql immutable as
$$ select to_timestamp(cast(s as bigint)) $$;
