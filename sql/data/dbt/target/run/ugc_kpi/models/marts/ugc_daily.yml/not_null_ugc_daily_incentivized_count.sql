
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select incentivized_count
from "warehouse"."marts"."ugc_daily"
where incentivized_count is null



  
  
      
    ) dbt_internal_test