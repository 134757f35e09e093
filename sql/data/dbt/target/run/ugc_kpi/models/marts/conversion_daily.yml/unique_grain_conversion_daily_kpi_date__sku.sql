
    
    select
      count(*) as failures,
      count(*) != 0 as should_warn,
      count(*) != 0 as should_error
    from (
      
    
  
select kpi_date, sku, count(*) as rows_in_grain
from "warehouse"."marts"."conversion_daily"
group by kpi_date, sku
having count(*) > 1

  
  
      
    ) dbt_internal_test