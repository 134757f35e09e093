
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select posts_without_metrics
from "warehouse"."marts"."reach_daily"
where posts_without_metrics is null



  
  
      
    ) dbt_internal_test