
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select post_count
from "warehouse"."marts"."reach_daily"
where post_count is null



  
  
      
    ) dbt_internal_test