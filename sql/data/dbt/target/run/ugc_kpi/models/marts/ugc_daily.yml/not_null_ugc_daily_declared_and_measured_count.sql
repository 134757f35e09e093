
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select declared_and_measured_count
from "warehouse"."marts"."ugc_daily"
where declared_and_measured_count is null



  
  
      
    ) dbt_internal_test