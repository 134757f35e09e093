
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select survey_answers
from "warehouse"."marts"."reach_daily"
where survey_answers is null



  
  
      
    ) dbt_internal_test