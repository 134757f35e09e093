
  
  create view "warehouse"."intermediate"."int_ugc_items__enriched__dbt_tmp" as (
    -- UGC items with their KPI day, product, brand, campaign, follower count and influencer tier.
-- is_counted: reviews always count (they are about the brand's products or stores); a social
-- post counts when it belongs to a campaign (declared, or one of its hashtags in the text).
with items as (
    select *, cast(timezone('Europe/Paris', created_at) as date) as kpi_date
    from "warehouse"."intermediate"."int_ugc_items__merged"
),

products as (select * from "warehouse"."intermediate"."int_brand__products_current"),
stores as (select * from "warehouse"."intermediate"."int_brand__stores_current"),
campaigns as (select * from "warehouse"."intermediate"."int_brand__campaigns_current"),
ambassadors as (select * from "warehouse"."intermediate"."int_brand__ambassadors_current"),
channels as (select * from "warehouse"."intermediate"."int_youtube__channels_latest"),

hashtag_campaigns as (
    -- A post that carries hashtags of several campaigns goes to the one running on its day,
    -- else the one that started last, else the first by id.
    select
        items.source,
        items.item_id,
        campaigns.campaign_id,
        row_number() over (
            partition by items.source, items.item_id
            order by
                case when items.kpi_date between campaigns.start_date and campaigns.end_date then 0 else 1 end,
                campaigns.start_date desc,
                campaigns.campaign_id
        ) as match_rank
    from items
    inner join "warehouse"."intermediate"."int_campaigns__hashtags" as tags
        on position(' ' || tags.hashtag || ' ' in items.hashtag_text) > 0
    inner join campaigns
        on campaigns.campaign_id = tags.campaign_id
    where items.campaign_id is null
      and items.hashtag_text is not null
),

attributed as (
    select
        items.*,
        coalesce(items.campaign_id, hashtag_campaigns.campaign_id) as attributed_campaign_id
    from items
    left join hashtag_campaigns
        on hashtag_campaigns.source = items.source
       and hashtag_campaigns.item_id = items.item_id
       and hashtag_campaigns.match_rank = 1
),

resolved as (
    select
        attributed.*,
        coalesce(sku_match.sku, gtin_match.sku, case when not attributed.is_review then campaigns.sku end,
                 attributed.sku) as resolved_sku,
        coalesce(sku_match.brand, gtin_match.brand, stores.brand, campaigns.brand) as brand,
        stores.store_id,
        -- the ambassador behind a platform account, when the roster knows the handle
        coalesce(attributed.ambassador_id, by_handle.ambassador_id) as resolved_ambassador_id,
        coalesce(
            attributed.author_followers,
            channels.subscriber_count,
            by_id.followers,
            by_handle.followers
        ) as followers
    from attributed
    left join products as sku_match on sku_match.sku = attributed.sku
    -- A product id that is not a catalogue SKU (a retailer's own code) falls back to the GTIN.
    left join products as gtin_match on sku_match.sku is null and gtin_match.gtin = attributed.gtin
    left join stores on stores.google_location_id = attributed.google_location_id
    left join campaigns on campaigns.campaign_id = attributed.attributed_campaign_id
    left join channels on channels.channel_id = attributed.author_id and attributed.platform = 'youtube'
    left join ambassadors as by_id
        on by_id.ambassador_id = attributed.ambassador_id and by_id.platform = attributed.platform
    left join ambassadors as by_handle
        on attributed.ambassador_id is null
       and by_handle.handle = attributed.author_handle
       and by_handle.platform = attributed.platform
),

final as (
    select
        source,
        platform,
        item_id,
        item_url,
        created_at,
        kpi_date,
        is_review,
        brand,
        resolved_sku as sku,
        store_id,
        attributed_campaign_id as campaign_id,
        resolved_ambassador_id as ambassador_id,
        coalesce(resolved_ambassador_id, platform || ':' || coalesce(author_id, author_handle, item_id)) as author_key,
        followers,
        case
            when followers is null then 'unknown'
            when followers < 1000 then 'nano'
            when followers <= 100000 then 'micro'
            else 'macro'
        end as influencer_tier,
        case
            when is_review and has_text then 'review'
            when is_review then 'rating'
            else content_type
        end as content_type,
        star_rating,
        has_media,
        is_incentivized,
        views,
        likes,
        comments,
        shares,
        saves,
        declared_item_id is not null as is_declared_and_measured,
        is_review or attributed_campaign_id is not null as is_counted
    from resolved
)

select * from final
  );
