
    
    



select run_id
from "warehouse"."audit"."pipeline_runs"
where run_id is null


