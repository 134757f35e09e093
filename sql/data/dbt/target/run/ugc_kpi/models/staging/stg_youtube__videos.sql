
  
  create view "warehouse"."staging"."stg_youtube__videos__dbt_tmp" as (
    -- YouTube videos, one row per delivered version; statistics arrive as strings.
select
    'youtube_videos' as source,
    'youtube' as platform,
    video_id as item_id,
    'https://www.youtube.com/watch?v=' || video_id as item_url,
    'youtube:' || video_id as post_key,
    delivery_date,
    source_file,
    record_number,
    cast(published_at as timestamp with time zone) as created_at,
    cast(null as timestamp with time zone) as updated_at,
    false as is_review,
    false as is_deleted,
    true as is_approved,
    cast(null as varchar) as sku,
    cast(null as varchar) as gtin,
    cast(null as varchar) as google_location_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as ambassador_id,
    channel_id as author_id,
    cast(null as varchar) as author_handle,
    cast(null as bigint) as author_followers,
    cast(null as integer) as star_rating,
    true as has_text,
    true as has_media,
    false as is_incentivized,
    'video' as content_type,
    (' ' || trim(regexp_replace(lower(coalesce(coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(tags, ''), '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ') as hashtag_text,
    cast(view_count as bigint) as views,
    cast(like_count as bigint) as likes,
    cast(comment_count as bigint) as comments,
    cast(null as bigint) as shares,
    cast(null as bigint) as saves
from "warehouse"."raw"."youtube_videos"
  );
