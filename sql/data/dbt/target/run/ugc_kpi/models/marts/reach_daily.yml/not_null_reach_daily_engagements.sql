
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select engagements
from "warehouse"."marts"."reach_daily"
where engagements is null



  
  
      
    ) dbt_internal_test