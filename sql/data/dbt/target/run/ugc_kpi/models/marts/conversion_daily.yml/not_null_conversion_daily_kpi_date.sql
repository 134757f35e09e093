
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
    
    



select kpi_date
from "warehouse"."marts"."conversion_daily"
where kpi_date is null



  
  
      
    ) dbt_internal_test