
    
    



select position
from "warehouse"."audit"."rejected_records"
where position is null


