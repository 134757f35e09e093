
    
    



select kpi_date
from "warehouse"."marts"."reach_daily"
where kpi_date is null


