
    

    create  table
      "warehouse"."marts"."reach_daily"
  
    
    as (
      -- Online reach of campaign posts and offline (word-of-mouth) reach, per KPI day.
with posts as (
    select *
    from "warehouse"."intermediate"."int_ugc_items__enriched"
    where is_counted and not is_review
),

authors as (
    select kpi_date, brand, sku, platform, influencer_tier, author_key, max(followers) as followers
    from posts
    group by kpi_date, brand, sku, platform, influencer_tier, author_key
),

reach as (
    select kpi_date, brand, sku, platform, influencer_tier,
           count(*) as author_count, cast(coalesce(sum(followers), 0) as bigint) as potential_reach
    from authors
    group by kpi_date, brand, sku, platform, influencer_tier
),

online as (
    select
        kpi_date, brand, sku, platform, influencer_tier,
        count(*) as post_count,
        cast(sum(views) as bigint) as views,
        cast(sum(coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0)) as bigint)
            as engagements,
        count(case when views is null and likes is null and comments is null
                         and shares is null and saves is null then 1 end) as posts_without_metrics
    from posts
    group by kpi_date, brand, sku, platform, influencer_tier
),

respondents as (
    select
        cast(timezone('Europe/Paris', responses.answered_at) as date) as kpi_date,
        campaigns.brand,
        campaigns.sku,
        responses.ambassador_id,
        responses.people_told,
        max(ambassadors.followers) as followers
    from "warehouse"."intermediate"."int_wom__responses_latest" as responses
    inner join "warehouse"."intermediate"."int_brand__campaigns_current" as campaigns
        on campaigns.campaign_id = responses.campaign_id
    left join "warehouse"."intermediate"."int_brand__ambassadors_current" as ambassadors
        on ambassadors.ambassador_id = responses.ambassador_id
    group by responses.response_id, responses.answered_at, campaigns.brand, campaigns.sku,
             responses.ambassador_id, responses.people_told
),

offline as (
    select
        kpi_date, brand, sku,
        'offline' as platform,
        case
            when followers is null then 'unknown'
            when followers < 1000 then 'nano'
            when followers <= 100000 then 'micro'
            else 'macro'
        end as influencer_tier,
        people_told
    from respondents
),

final as (
    select
        online.kpi_date, online.brand, online.sku, online.platform, online.influencer_tier,
        online.post_count,
        reach.author_count,
        reach.potential_reach,
        online.views,
        online.engagements,
        cast(online.engagements as double precision) / nullif(reach.potential_reach, 0) as engagement_rate,
        online.posts_without_metrics,
        0 as offline_reach,
        0 as survey_respondents,
        0 as survey_answers
    from online
    inner join reach
        on reach.kpi_date = online.kpi_date
       and reach.brand is not distinct from online.brand
       and reach.sku is not distinct from online.sku
       and reach.platform = online.platform
       and reach.influencer_tier = online.influencer_tier

    union all

    select
        kpi_date, brand, sku, platform, influencer_tier,
        0 as post_count,
        0 as author_count,
        0 as potential_reach,
        cast(null as bigint) as views,
        0 as engagements,
        cast(null as double precision) as engagement_rate,
        0 as posts_without_metrics,
        cast(coalesce(sum(people_told), 0) as bigint) as offline_reach,
        count(*) as survey_respondents,
        count(people_told) as survey_answers
    from offline
    group by kpi_date, brand, sku, platform, influencer_tier
)

select * from final
    );
    
  
  