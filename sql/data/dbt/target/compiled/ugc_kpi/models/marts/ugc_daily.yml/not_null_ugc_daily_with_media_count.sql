
    
    



select with_media_count
from "warehouse"."marts"."ugc_daily"
where with_media_count is null


