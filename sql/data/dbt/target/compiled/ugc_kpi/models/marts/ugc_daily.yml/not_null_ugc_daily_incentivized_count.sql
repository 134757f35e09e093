
    
    



select incentivized_count
from "warehouse"."marts"."ugc_daily"
where incentivized_count is null


