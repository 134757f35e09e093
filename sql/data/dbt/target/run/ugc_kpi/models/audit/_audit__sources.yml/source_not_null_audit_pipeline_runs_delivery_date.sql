
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select delivery_date
from "warehouse"."audit"."pipeline_runs"
where delivery_date is null



  
  
      
    ) dbt_internal_test