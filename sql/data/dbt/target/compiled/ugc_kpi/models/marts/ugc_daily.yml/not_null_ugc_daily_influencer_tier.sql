
    
    



select influencer_tier
from "warehouse"."marts"."ugc_daily"
where influencer_tier is null


