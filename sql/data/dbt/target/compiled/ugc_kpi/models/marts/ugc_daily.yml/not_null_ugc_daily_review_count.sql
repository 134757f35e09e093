
    
    



select review_count
from "warehouse"."marts"."ugc_daily"
where review_count is null


