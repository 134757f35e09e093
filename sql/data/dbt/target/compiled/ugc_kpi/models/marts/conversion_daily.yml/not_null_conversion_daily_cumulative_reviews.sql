
    
    



select cumulative_reviews
from "warehouse"."marts"."conversion_daily"
where cumulative_reviews is null


