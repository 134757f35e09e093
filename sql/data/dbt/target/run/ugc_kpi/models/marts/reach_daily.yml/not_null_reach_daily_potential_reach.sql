
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select potential_reach
from "warehouse"."marts"."reach_daily"
where potential_reach is null



  
  
      
    ) dbt_internal_test