
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select influencer_tier
from "warehouse"."marts"."reach_daily"
where influencer_tier is null



  
  
      
    ) dbt_internal_test