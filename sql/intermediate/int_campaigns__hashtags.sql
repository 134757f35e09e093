-- One row per campaign hashtag, lower case and without '#', for case-insensitive matching.
with words as (
    select campaign_id, unnest(ugc_words(hashtags)) as word
    from intermediate.int_brand__campaigns_current
)

select distinct campaign_id, lower(replace(word, '#', '')) as hashtag
from words
where replace(word, '#', '') <> ''
