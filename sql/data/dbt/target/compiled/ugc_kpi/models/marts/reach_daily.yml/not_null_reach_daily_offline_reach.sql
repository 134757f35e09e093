
    
    



select offline_reach
from "warehouse"."marts"."reach_daily"
where offline_reach is null


