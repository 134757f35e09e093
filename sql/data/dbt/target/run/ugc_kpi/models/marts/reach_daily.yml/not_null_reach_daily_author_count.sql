
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select author_count
from "warehouse"."marts"."reach_daily"
where author_count is null



  
  
      
    ) dbt_internal_test