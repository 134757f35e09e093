
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select ugc_count
from "warehouse"."marts"."ugc_daily"
where ugc_count is null



  
  
      
    ) dbt_internal_test