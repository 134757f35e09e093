
    
    



select influencer_tier
from "warehouse"."marts"."reach_daily"
where influencer_tier is null


