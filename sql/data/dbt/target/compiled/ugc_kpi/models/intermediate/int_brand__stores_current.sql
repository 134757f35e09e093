-- The newest store snapshot.
select store_id, google_location_id, brand, zone_id, city
from "warehouse"."staging"."stg_brand__stores"
where delivery_date = (select max(delivery_date) from "warehouse"."staging"."stg_brand__stores")