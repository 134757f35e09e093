
    
    



select sku
from "warehouse"."marts"."conversion_daily"
where sku is null


