
  
  create view "warehouse"."staging"."stg_retailer__reviews__dbt_tmp" as (
    -- Retailer (Bazaarvoice-style) reviews, one row per delivered version.
-- product_id is the SKU when present; otherwise the product is found by GTIN downstream.
select
    'retailer_reviews' as source,
    'retailer' as platform,
    review_id as item_id,
    cast(null as varchar) as item_url,
    cast(null as varchar) as post_key,
    delivery_date,
    source_file,
    record_number,
    cast(submission_time as timestamp with time zone) as created_at,
    cast(last_modification_time as timestamp with time zone) as updated_at,
    true as is_review,
    false as is_deleted,
    upper(trim(moderation_status)) = 'APPROVED' as is_approved,
    nullif(trim(product_id), '') as sku,
    nullif(trim(gtin), '') as gtin,
    cast(null as varchar) as google_location_id,
    nullif(trim(campaign_id), '') as campaign_id,
    cast(null as varchar) as ambassador_id,
    cast(null as varchar) as author_id,
    cast(null as varchar) as author_handle,
    cast(null as bigint) as author_followers,
    cast(rating as integer) as star_rating,
    coalesce(trim(review_text), '') <> '' as has_text,
    coalesce(cast(photo_count as bigint), 0) + coalesce(cast(video_count as bigint), 0) > 0 as has_media,
    coalesce(cast(incentivized_review as boolean), false) as is_incentivized,
    cast(null as varchar) as content_type,
    cast(null as varchar) as hashtag_text,
    cast(null as bigint) as views,
    cast(null as bigint) as likes,
    cast(null as bigint) as comments,
    cast(null as bigint) as shares,
    cast(null as bigint) as saves
from "warehouse"."raw"."retailer_reviews"
  );
