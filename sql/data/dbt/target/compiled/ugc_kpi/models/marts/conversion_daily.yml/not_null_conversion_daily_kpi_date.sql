
    
    



select kpi_date
from "warehouse"."marts"."conversion_daily"
where kpi_date is null


