
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select with_media_count
from "warehouse"."marts"."ugc_daily"
where with_media_count is null



  
  
      
    ) dbt_internal_test