
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select control_stores
from "warehouse"."marts"."sales_uplift"
where control_stores is null



  
  
      
    ) dbt_internal_test