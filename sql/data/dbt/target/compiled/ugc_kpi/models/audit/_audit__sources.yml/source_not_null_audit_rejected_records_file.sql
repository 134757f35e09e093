
    
    



select file
from "warehouse"."audit"."rejected_records"
where file is null


