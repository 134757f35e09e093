
    
    



select kpi_date
from "warehouse"."marts"."ugc_daily"
where kpi_date is null


