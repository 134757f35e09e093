
    
    



select potential_reach
from "warehouse"."marts"."reach_daily"
where potential_reach is null


