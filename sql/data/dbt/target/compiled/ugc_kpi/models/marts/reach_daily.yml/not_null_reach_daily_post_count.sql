
    
    



select post_count
from "warehouse"."marts"."reach_daily"
where post_count is null


