
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
select kpi_date, brand, sku, platform, content_type, influencer_tier, count(*) as rows_in_grain
from "warehouse"."marts"."ugc_daily"
group by kpi_date, brand, sku, platform, content_type, influencer_tier
having count(*) > 1

  
  
      
    ) dbt_internal_test