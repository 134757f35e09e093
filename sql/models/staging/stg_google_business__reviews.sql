-- Google Business Profile reviews, one row per delivered version, as shared UGC item columns.
-- Store-level UGC: no SKU; the store is found through the location id inside `name`.
-- Raw columns are the API's field names (mixed case: quoted); renamed and cast here.
select
    'google_business_reviews' as source,
    'google_business' as platform,
    "reviewId" as item_id,
    cast(null as varchar) as item_url,
    cast(null as varchar) as post_key,
    delivery_date,
    source_file,
    record_number,
    cast("createTime" as timestamp with time zone) as created_at,
    cast("updateTime" as timestamp with time zone) as updated_at,
    true as is_review,
    false as is_deleted,
    true as is_approved,
    cast(null as varchar) as sku,
    cast(null as varchar) as gtin,
    "name__locationId" as google_location_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as ambassador_id,
    cast(null as varchar) as author_id,
    cast(null as varchar) as author_handle,
    cast(null as bigint) as author_followers,
    case "starRating"
        when 'ONE' then 1 when 'TWO' then 2 when 'THREE' then 3 when 'FOUR' then 4 when 'FIVE' then 5
    end as star_rating,  -- STAR_RATING_UNSPECIFIED: no rating
    coalesce(trim(comment), '') <> '' as has_text,
    cast("reviewMediaItems__count" as bigint) > 0 as has_media,
    false as is_incentivized,
    cast(null as varchar) as content_type,
    cast(null as varchar) as hashtag_text,
    cast(null as bigint) as views,
    cast(null as bigint) as likes,
    cast(null as bigint) as comments,
    cast(null as bigint) as shares,
    cast(null as bigint) as saves
from {{ source('raw', 'google_business_reviews') }}
