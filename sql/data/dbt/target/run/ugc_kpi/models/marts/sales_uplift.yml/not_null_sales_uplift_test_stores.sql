
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select test_stores
from "warehouse"."marts"."sales_uplift"
where test_stores is null



  
  
      
    ) dbt_internal_test