-- The product catalogue (newest snapshot) for BI tools: names instead of SKUs, with how many
-- campaigns each product had and the approved reviews it has gathered.
with products as (
    select * from {{ ref('int_brand__products_current') }}
),

campaigns as (
    select sku, count(*) as campaign_count, min(start_date) as first_campaign_start
    from {{ ref('int_brand__campaigns_current') }}
    group by sku
),

reviews as (
    select sku, count(*) as review_count, avg(cast(star_rating as double precision)) as avg_rating
    from {{ ref('int_ugc_items__enriched') }}
    where is_review and is_counted and sku is not null
    group by sku
),

final as (
    select
        products.sku,
        products.gtin,
        products.product_name,
        products.brand,
        products.category,
        coalesce(campaigns.campaign_count, 0) as campaign_count,
        campaigns.first_campaign_start,
        coalesce(reviews.review_count, 0) as review_count,
        reviews.avg_rating
    from products
    left join campaigns on campaigns.sku = products.sku
    left join reviews on reviews.sku = products.sku
)

select * from final
