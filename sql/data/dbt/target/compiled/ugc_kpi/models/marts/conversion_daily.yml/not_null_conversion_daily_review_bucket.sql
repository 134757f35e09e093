
    
    



select review_bucket
from "warehouse"."marts"."conversion_daily"
where review_bucket is null


