-- Portable helper functions the SQL models call; sql/dialect/postgresql.sql defines the same
-- names for PostgreSQL. This file and ugc_pipeline/dialects.py are the only dialect-specific code.

-- The KPI day of a UTC timestamp, in the zone stored in meta.pipeline_settings (UGC_TIMEZONE).
create or replace macro ugc_local_date(ts) as
    cast(timezone((select timezone from meta.pipeline_settings limit 1), ts) as date);

-- Text as ' word word ': lower case, every character that is not a letter, a digit or '_'
-- (spaces, '#', punctuation, emoji) turned into a space, for whole-word hashtag matching.
create or replace macro ugc_hashtag_text(s) as
    ' ' || trim(regexp_replace(lower(coalesce(s, '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ';

-- A space-separated list as an array (campaign hashtags, exposed zones).
create or replace macro ugc_words(s) as
    string_split(trim(regexp_replace(coalesce(s, ''), '\s+', ' ', 'g')), ' ');

-- The first capture group of a regular expression, NULL when it does not match.
create or replace macro ugc_regexp_extract(s, pattern) as
    nullif(regexp_extract(s, pattern, 1), '');

-- A timestamp from unix seconds given as text.
create or replace macro ugc_from_unix_seconds(s) as
    to_timestamp(cast(s as bigint));
