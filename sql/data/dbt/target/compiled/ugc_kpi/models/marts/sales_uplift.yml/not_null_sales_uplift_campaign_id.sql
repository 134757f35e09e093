
    
    



select campaign_id
from "warehouse"."marts"."sales_uplift"
where campaign_id is null


