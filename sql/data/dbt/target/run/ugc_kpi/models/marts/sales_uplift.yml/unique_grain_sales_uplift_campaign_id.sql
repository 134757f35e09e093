
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
select campaign_id, count(*) as rows_in_grain
from "warehouse"."marts"."sales_uplift"
group by campaign_id
having count(*) > 1

  
  
      
    ) dbt_internal_test