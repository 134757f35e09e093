-- The newest store snapshot.
select store_id, google_location_id, brand, zone_id, city
from {{ ref('stg_brand__stores') }}
where delivery_date = (select max(delivery_date) from {{ ref('stg_brand__stores') }})
