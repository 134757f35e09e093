
    
    



select delivery_date
from "warehouse"."audit"."rejected_records"
where delivery_date is null


