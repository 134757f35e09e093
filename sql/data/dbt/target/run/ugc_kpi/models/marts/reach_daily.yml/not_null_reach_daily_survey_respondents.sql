
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select survey_respondents
from "warehouse"."marts"."reach_daily"
where survey_respondents is null



  
  
      
    ) dbt_internal_test