
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select offline_reach
from "warehouse"."marts"."reach_daily"
where offline_reach is null



  
  
      
    ) dbt_internal_test