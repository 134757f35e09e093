
  
  create view "warehouse"."staging"."stg_tiktok__videos__dbt_tmp" as (
    -- TikTok videos, one row per delivered version. The 19-digit id stays text.
select
    'tiktok_videos' as source,
    'tiktok' as platform,
    video_id as item_id,
    'https://www.tiktok.com/@' || username || '/video/' || video_id as item_url,
    'tiktok:' || video_id as post_key,
    delivery_date,
    source_file,
    record_number,
    to_timestamp(cast(create_time as bigint)) as created_at,
    cast(null as timestamp with time zone) as updated_at,
    false as is_review,
    false as is_deleted,
    true as is_approved,
    cast(null as varchar) as sku,
    cast(null as varchar) as gtin,
    cast(null as varchar) as google_location_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as ambassador_id,
    cast(null as varchar) as author_id,
    lower(username) as author_handle,
    cast(null as bigint) as author_followers,
    cast(null as integer) as star_rating,
    coalesce(trim(video_description), '') <> '' as has_text,
    true as has_media,
    false as is_incentivized,
    'video' as content_type,
    (' ' || trim(regexp_replace(lower(coalesce(coalesce(video_description, '') || ' ' || coalesce(hashtag_names, ''), '')), '[^\p{L}\p{N}_]+', ' ', 'g')) || ' ') as hashtag_text,
    cast(view_count as bigint) as views,
    cast(like_count as bigint) as likes,
    cast(comment_count as bigint) as comments,
    cast(share_count as bigint) as shares,
    cast(null as bigint) as saves
from "warehouse"."raw"."tiktok_videos"
  );
