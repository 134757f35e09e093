-- Store list snapshots, every delivered snapshot.
select
    trim(store_id) as store_id,
    nullif(trim(google_location_id), '') as google_location_id,
    trim(brand) as brand,
    trim(zone_id) as zone_id,
    city,
    delivery_date
from "warehouse"."raw"."stores"