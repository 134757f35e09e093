
select kpi_date, brand, sku, platform, content_type, influencer_tier, count(*) as rows_in_grain
from "warehouse"."marts"."ugc_daily"
group by kpi_date, brand, sku, platform, content_type, influencer_tier
having count(*) > 1
