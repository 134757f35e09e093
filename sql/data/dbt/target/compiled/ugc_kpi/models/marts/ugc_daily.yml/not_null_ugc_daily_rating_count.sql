
    
    



select rating_count
from "warehouse"."marts"."ugc_daily"
where rating_count is null


