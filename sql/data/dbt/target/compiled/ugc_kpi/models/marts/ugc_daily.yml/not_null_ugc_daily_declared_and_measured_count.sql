
    
    



select declared_and_measured_count
from "warehouse"."marts"."ugc_daily"
where declared_and_measured_count is null


