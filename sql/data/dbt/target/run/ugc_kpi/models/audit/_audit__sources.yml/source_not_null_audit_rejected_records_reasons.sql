
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select reasons
from "warehouse"."audit"."rejected_records"
where reasons is null



  
  
      
    ) dbt_internal_test