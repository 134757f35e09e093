
    
    



select delivery_date
from "warehouse"."audit"."pipeline_runs"
where delivery_date is null


