
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select file
from "warehouse"."audit"."rejected_records"
where file is null



  
  
      
    ) dbt_internal_test