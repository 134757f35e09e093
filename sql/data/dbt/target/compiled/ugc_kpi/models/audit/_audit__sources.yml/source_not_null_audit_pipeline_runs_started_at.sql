
    
    



select started_at
from "warehouse"."audit"."pipeline_runs"
where started_at is null


