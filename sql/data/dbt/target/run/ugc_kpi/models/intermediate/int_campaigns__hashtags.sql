
  
  create view "warehouse"."intermediate"."int_campaigns__hashtags__dbt_tmp" as (
    -- One row per campaign hashtag, normalised like the posts' text (ugc_hashtag_text: lower case,
-- no '#'), for case-insensitive whole-word matching.
with words as (
    select campaign_id, unnest(string_split(trim(regexp_replace(coalesce(hashtags, ''), '\s+', ' ', 'g')), ' ')) as word
    from "warehouse"."intermediate"."int_brand__campaigns_current"
)

select distinct campaign_id, trim((' ' || trim(regexp_replace(lower(coalesce(word, '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ')) as hashtag
from words
where trim((' ' || trim(regexp_replace(lower(coalesce(word, '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ')) <> ''
  );
