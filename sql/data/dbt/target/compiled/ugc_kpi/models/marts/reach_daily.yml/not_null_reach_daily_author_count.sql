
    
    



select author_count
from "warehouse"."marts"."reach_daily"
where author_count is null


