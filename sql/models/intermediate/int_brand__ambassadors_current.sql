-- The newest ambassador roster (one row per ambassador and platform).
select ambassador_id, platform, handle, followers, zone_id
from {{ ref('stg_brand__ambassadors') }}
where delivery_date = (select max(delivery_date) from {{ ref('stg_brand__ambassadors') }})
