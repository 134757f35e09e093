-- The campaigns (newest snapshot) for BI tools: names, dates, windows and zones of each campaign.
with campaigns as (
    select * from {{ ref('int_brand__campaigns_current') }}
),

products as (
    select * from {{ ref('int_brand__products_current') }}
),

zones as (
    select campaign_id, count(*) as exposed_zone_count
    from {{ ref('int_campaigns__exposed_zones') }}
    group by campaign_id
),

final as (
    select
        campaigns.campaign_id,
        campaigns.brand,
        campaigns.sku,
        products.product_name,
        campaigns.start_date,
        campaigns.end_date,
        cast(campaigns.end_date - campaigns.start_date + 1 as bigint) as campaign_days,
        campaigns.start_date - 28 as baseline_start_date,
        campaigns.start_date - 1 as baseline_end_date,
        campaigns.hashtags,
        campaigns.exposed_zone_ids,
        coalesce(zones.exposed_zone_count, 0) as exposed_zone_count
    from campaigns
    left join products on products.sku = campaigns.sku
    left join zones on zones.campaign_id = campaigns.campaign_id
)

select * from final
