
select kpi_date, sku, count(*) as rows_in_grain
from "warehouse"."marts"."conversion_daily"
group by kpi_date, sku
having count(*) > 1
