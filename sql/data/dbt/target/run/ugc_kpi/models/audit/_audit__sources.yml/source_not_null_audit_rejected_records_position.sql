
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select position
from "warehouse"."audit"."rejected_records"
where position is null



  
  
      
    ) dbt_internal_test