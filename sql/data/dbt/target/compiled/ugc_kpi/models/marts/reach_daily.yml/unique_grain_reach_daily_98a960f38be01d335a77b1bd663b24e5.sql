
select kpi_date, brand, sku, platform, influencer_tier, count(*) as rows_in_grain
from "warehouse"."marts"."reach_daily"
group by kpi_date, brand, sku, platform, influencer_tier
having count(*) > 1
