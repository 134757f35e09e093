
    
    



select during_days
from "warehouse"."marts"."sales_uplift"
where during_days is null


