
    

    create  table
      "warehouse"."marts"."ugc_daily"
  
    
    as (
      -- UGC volume per KPI day, product, platform, content type and influencer tier.
select
    kpi_date,
    brand,
    sku,
    platform,
    content_type,
    influencer_tier,
    count(*) as ugc_count,
    count(case when content_type = 'review' then 1 end) as review_count,
    count(star_rating) as rating_count,
    cast(avg(cast(star_rating as double precision)) as double precision) as avg_rating,
    count(case when is_incentivized then 1 end) as incentivized_count,
    count(case when has_media then 1 end) as with_media_count,
    count(case when is_declared_and_measured then 1 end) as declared_and_measured_count
from "warehouse"."intermediate"."int_ugc_items__enriched"
where is_counted
group by kpi_date, brand, sku, platform, content_type, influencer_tier
    );
    
  
  