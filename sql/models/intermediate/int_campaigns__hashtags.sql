-- One row per campaign hashtag, normalised like the posts' text (ugc_hashtag_text: lower case,
-- no '#'), for case-insensitive whole-word matching.
with words as (
    select campaign_id, unnest({{ ugc_words('hashtags') }}) as word
    from {{ ref('int_brand__campaigns_current') }}
)

select distinct campaign_id, trim({{ ugc_hashtag_text('word') }}) as hashtag
from words
where trim({{ ugc_hashtag_text('word') }}) <> ''
