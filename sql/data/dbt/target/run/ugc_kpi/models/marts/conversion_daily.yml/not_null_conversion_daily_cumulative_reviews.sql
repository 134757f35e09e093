
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select cumulative_reviews
from "warehouse"."marts"."conversion_daily"
where cumulative_reviews is null



  
  
      
    ) dbt_internal_test