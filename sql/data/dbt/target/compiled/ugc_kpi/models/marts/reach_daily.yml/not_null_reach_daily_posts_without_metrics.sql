
    
    



select posts_without_metrics
from "warehouse"."marts"."reach_daily"
where posts_without_metrics is null


