-- Instagram media with lifetime insights, one row per delivered version.
-- A missing insight stays NULL (unknown); views replaces the deprecated impressions, which is
-- read only where views is absent. Raw columns are the media's field names, the insights
-- (insights__<metric>) and the fields of the user node the page is (user__<field>).
select
    'instagram_media' as source,
    'instagram' as platform,
    id as item_id,
    permalink as item_url,
    'instagram:' || coalesce(
        {{ ugc_regexp_extract('permalink', "'/(?:p|reel|reels|tv)/([A-Za-z0-9_-]+)'") }},
        {{ ugc_regexp_extract('permalink', "'/stories/[^/]+/([0-9]+)'") }}) as post_key,
    delivery_date,
    source_file,
    record_number,
    cast("timestamp" as timestamp with time zone) as created_at,
    cast(null as timestamp with time zone) as updated_at,
    false as is_review,
    false as is_deleted,
    true as is_approved,
    cast(null as varchar) as sku,
    cast(null as varchar) as gtin,
    cast(null as varchar) as google_location_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as ambassador_id,
    user__id as author_id,
    lower(user__username) as author_handle,
    cast(user__followers_count as bigint) as author_followers,
    cast(null as integer) as star_rating,
    coalesce(trim(caption), '') <> '' as has_text,
    true as has_media,
    false as is_incentivized,
    case
        when upper(media_product_type) = 'REELS' then 'reel'
        when upper(media_product_type) = 'STORY' then 'story'
        when upper(media_type) = 'CAROUSEL_ALBUM' then 'carousel'
        when upper(media_type) = 'VIDEO' then 'video'
        else 'photo'
    end as content_type,
    {{ ugc_hashtag_text('caption') }} as hashtag_text,
    cast(coalesce(insights__views, insights__impressions) as bigint) as views,  -- impressions: older media
    cast(like_count as bigint) as likes,
    cast(comments_count as bigint) as comments,
    cast(insights__shares as bigint) as shares,
    cast(insights__saved as bigint) as saves
from {{ source('raw', 'instagram_media') }}
