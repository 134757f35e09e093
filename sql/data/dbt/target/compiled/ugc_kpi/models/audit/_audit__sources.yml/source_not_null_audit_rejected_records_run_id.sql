
    
    



select run_id
from "warehouse"."audit"."rejected_records"
where run_id is null


