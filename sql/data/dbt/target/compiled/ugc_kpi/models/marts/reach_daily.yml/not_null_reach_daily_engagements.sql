
    
    



select engagements
from "warehouse"."marts"."reach_daily"
where engagements is null


