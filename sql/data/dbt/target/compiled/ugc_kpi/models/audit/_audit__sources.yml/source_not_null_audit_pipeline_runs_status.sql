
    
    



select status
from "warehouse"."audit"."pipeline_runs"
where status is null


