
  
  create view "warehouse"."staging"."stg_yotpo__reviews__dbt_tmp" as (
    -- Yotpo product reviews, one row per delivered version. Reviewer name and e-mail stop at raw.
select
    'yotpo_reviews' as source,
    'yotpo' as platform,
    review_id as item_id,
    cast(null as varchar) as item_url,
    cast(null as varchar) as post_key,
    delivery_date,
    source_file,
    record_number,
    cast(created_at as timestamp with time zone) as created_at,
    cast(updated_at as timestamp with time zone) as updated_at,
    true as is_review,
    coalesce(cast(is_deleted as boolean), false) as is_deleted,
    not coalesce(cast(is_archived as boolean), false) as is_approved,  -- archived = unpublished
    sku,
    cast(null as varchar) as gtin,
    cast(null as varchar) as google_location_id,
    cast(null as varchar) as campaign_id,
    cast(null as varchar) as ambassador_id,
    cast(null as varchar) as author_id,
    cast(null as varchar) as author_handle,
    cast(null as bigint) as author_followers,
    cast(score as integer) as star_rating,
    coalesce(trim(content), '') <> '' as has_text,
    false as has_media,
    coalesce(cast(is_incentivized as boolean), false) as is_incentivized,
    cast(null as varchar) as content_type,
    cast(null as varchar) as hashtag_text,
    cast(null as bigint) as views,
    cast(null as bigint) as likes,
    cast(null as bigint) as comments,
    cast(null as bigint) as shares,
    cast(null as bigint) as saves
from "warehouse"."raw"."yotpo_reviews"
  );
