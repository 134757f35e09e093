
    
    



select test_stores
from "warehouse"."marts"."sales_uplift"
where test_stores is null


