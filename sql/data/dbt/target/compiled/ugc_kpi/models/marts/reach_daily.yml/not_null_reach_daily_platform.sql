
    
    



select platform
from "warehouse"."marts"."reach_daily"
where platform is null


