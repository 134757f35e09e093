
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select review_bucket
from "warehouse"."marts"."conversion_daily"
where review_bucket is null



  
  
      
    ) dbt_internal_test