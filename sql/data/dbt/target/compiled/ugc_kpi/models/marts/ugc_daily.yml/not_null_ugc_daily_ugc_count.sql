
    
    



select ugc_count
from "warehouse"."marts"."ugc_daily"
where ugc_count is null


