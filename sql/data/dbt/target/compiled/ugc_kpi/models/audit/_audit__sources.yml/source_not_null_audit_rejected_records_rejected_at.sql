
    
    



select rejected_at
from "warehouse"."audit"."rejected_records"
where rejected_at is null


