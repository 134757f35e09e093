
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select rejected_at
from "warehouse"."audit"."rejected_records"
where rejected_at is null



  
  
      
    ) dbt_internal_test