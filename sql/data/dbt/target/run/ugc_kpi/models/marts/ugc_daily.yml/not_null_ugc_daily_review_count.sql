
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select review_count
from "warehouse"."marts"."ugc_daily"
where review_count is null



  
  
      
    ) dbt_internal_test