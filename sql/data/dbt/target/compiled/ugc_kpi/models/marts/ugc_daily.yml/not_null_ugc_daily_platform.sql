
    
    



select platform
from "warehouse"."marts"."ugc_daily"
where platform is null


