
    
    



select source
from "warehouse"."audit"."pipeline_runs"
where source is null


