
select campaign_id, count(*) as rows_in_grain
from "warehouse"."marts"."sales_uplift"
group by campaign_id
having count(*) > 1
