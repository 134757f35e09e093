-- Web conversion per day and SKU, beside the reviews the product page had by then and the
-- conversion variation against the 28 days before the SKU's current (or last) campaign.
with web as (
    select activity_date as kpi_date, sku, sessions, orders
    from "warehouse"."intermediate"."int_brand__web_conversion_latest"
),

daily_reviews as (
    select sku, kpi_date, count(*) as reviews, sum(star_rating) as rating_sum, count(star_rating) as ratings
    from "warehouse"."intermediate"."int_ugc_items__enriched"
    where is_review and is_counted and sku is not null
    group by sku, kpi_date
),

reviews_to_date as (
    select
        web.kpi_date,
        web.sku,
        cast(coalesce(sum(daily_reviews.reviews), 0) as bigint) as cumulative_reviews,
        cast(sum(daily_reviews.rating_sum) as double precision) / nullif(sum(daily_reviews.ratings), 0) as avg_rating_to_date
    from web
    left join daily_reviews
        on daily_reviews.sku = web.sku
       and daily_reviews.kpi_date <= web.kpi_date
    group by web.kpi_date, web.sku
),

campaign_of_day as (
    -- The campaign running on the day, else the one that ended most recently.
    select
        web.kpi_date,
        web.sku,
        campaigns.campaign_id,
        campaigns.start_date,
        row_number() over (
            partition by web.kpi_date, web.sku
            order by
                case when web.kpi_date <= campaigns.end_date then 0 else 1 end,
                case when web.kpi_date <= campaigns.end_date then campaigns.start_date end desc,
                campaigns.end_date desc,
                campaigns.campaign_id
        ) as campaign_rank
    from web
    inner join "warehouse"."intermediate"."int_brand__campaigns_current" as campaigns
        on campaigns.sku = web.sku
       and campaigns.start_date <= web.kpi_date
),

last_7_days as (
    select web.kpi_date, web.sku, sum(history.sessions) as sessions, sum(history.orders) as orders
    from web
    inner join web as history
        on history.sku = web.sku
       and history.kpi_date between web.kpi_date - 6 and web.kpi_date
    group by web.kpi_date, web.sku
),

pre_campaign as (
    select campaign_of_day.kpi_date, campaign_of_day.sku,
           sum(history.sessions) as sessions, sum(history.orders) as orders
    from campaign_of_day
    inner join web as history
        on history.sku = campaign_of_day.sku
       and history.kpi_date between campaign_of_day.start_date - 28 and campaign_of_day.start_date - 1
    where campaign_of_day.campaign_rank = 1
    group by campaign_of_day.kpi_date, campaign_of_day.sku
),

final as (
    select
        web.kpi_date,
        web.sku,
        web.sessions,
        web.orders,
        cast(web.orders as double precision) / nullif(web.sessions, 0) as conversion_rate,
        reviews_to_date.cumulative_reviews,
        case
            when reviews_to_date.cumulative_reviews = 0 then '0'
            when reviews_to_date.cumulative_reviews < 10 then '1-9'
            when reviews_to_date.cumulative_reviews < 50 then '10-49'
            else '50+'
        end as review_bucket,
        reviews_to_date.avg_rating_to_date,
        campaign_of_day.campaign_id,
        (cast(last_7_days.orders as double precision) / nullif(last_7_days.sessions, 0))
            / nullif(cast(pre_campaign.orders as double precision) / nullif(pre_campaign.sessions, 0), 0)
            - 1 as conversion_variation
    from web
    inner join reviews_to_date
        on reviews_to_date.kpi_date = web.kpi_date and reviews_to_date.sku = web.sku
    inner join last_7_days
        on last_7_days.kpi_date = web.kpi_date and last_7_days.sku = web.sku
    left join campaign_of_day
        on campaign_of_day.kpi_date = web.kpi_date and campaign_of_day.sku = web.sku
       and campaign_of_day.campaign_rank = 1
    left join pre_campaign
        on pre_campaign.kpi_date = web.kpi_date and pre_campaign.sku = web.sku
)

select * from final