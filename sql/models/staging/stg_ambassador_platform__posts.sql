-- Posts declared by ambassadors, one row per delivered version. Blank metrics are unknown.
-- post_key identifies the same post in the platform's own export (same URL / platform id).
select
    'ambassador_posts' as source,
    lower(trim(platform)) as platform,
    post_id as item_id,
    post_url as item_url,
    case lower(trim(platform))
        when 'instagram' then 'instagram:' || coalesce(
            {{ ugc_regexp_extract('post_url', "'/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)'") }},
            {{ ugc_regexp_extract('post_url', "'/stories/[^/]+/([0-9]+)'") }})
        when 'tiktok' then 'tiktok:' || {{ ugc_regexp_extract('post_url', "'/video/([0-9]+)'") }}
        when 'youtube' then 'youtube:' || coalesce(
            {{ ugc_regexp_extract('post_url', "'[?&]v=([A-Za-z0-9_-]+)'") }},
            {{ ugc_regexp_extract('post_url', "'youtu[.]be/([A-Za-z0-9_-]+)'") }},
            {{ ugc_regexp_extract('post_url', "'/shorts/([A-Za-z0-9_-]+)'") }})
    end as post_key,
    delivery_date,
    source_file,
    record_number,
    cast(posted_at as timestamp with time zone) as created_at,
    cast(null as timestamp with time zone) as updated_at,
    false as is_review,
    false as is_deleted,
    true as is_approved,
    cast(null as varchar) as sku,
    cast(null as varchar) as gtin,
    cast(null as varchar) as google_location_id,
    campaign_id,
    ambassador_id,
    cast(null as varchar) as author_id,
    cast(null as varchar) as author_handle,
    cast(followers_at_post as bigint) as author_followers,
    cast(null as integer) as star_rating,
    true as has_text,
    true as has_media,
    true as is_incentivized,  -- programme ambassadors post about a product they received
    lower(trim(content_type)) as content_type,
    cast(null as varchar) as hashtag_text,
    cast(views as bigint) as views,
    cast(likes as bigint) as likes,
    cast(comments as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(null as bigint) as saves
from {{ source('raw', 'ambassador_posts') }}
