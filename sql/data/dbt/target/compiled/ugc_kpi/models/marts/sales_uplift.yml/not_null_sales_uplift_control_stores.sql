
    
    



select control_stores
from "warehouse"."marts"."sales_uplift"
where control_stores is null


