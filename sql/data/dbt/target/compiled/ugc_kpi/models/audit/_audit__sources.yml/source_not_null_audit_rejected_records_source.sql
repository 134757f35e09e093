
    
    



select source
from "warehouse"."audit"."rejected_records"
where source is null


