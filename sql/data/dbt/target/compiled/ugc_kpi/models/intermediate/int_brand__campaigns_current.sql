-- The newest campaign snapshot.
select campaign_id, brand, sku, start_date, end_date, hashtags, exposed_zone_ids
from "warehouse"."staging"."stg_brand__campaigns"
where delivery_date = (select max(delivery_date) from "warehouse"."staging"."stg_brand__campaigns")