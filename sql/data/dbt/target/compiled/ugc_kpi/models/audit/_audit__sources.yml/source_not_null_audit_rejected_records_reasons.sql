
    
    



select reasons
from "warehouse"."audit"."rejected_records"
where reasons is null


