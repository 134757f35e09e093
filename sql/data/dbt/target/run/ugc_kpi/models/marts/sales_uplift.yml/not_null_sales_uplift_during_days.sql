
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select during_days
from "warehouse"."marts"."sales_uplift"
where during_days is null



  
  
      
    ) dbt_internal_test