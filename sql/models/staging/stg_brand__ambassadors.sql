-- Ambassador roster snapshots (one row per ambassador and platform); handles without '@'.
select
    trim(ambassador_id) as ambassador_id,
    lower(trim(platform)) as platform,
    lower(ltrim(trim(handle), '@')) as handle,
    cast(followers as bigint) as followers,
    trim(zone_id) as zone_id,
    delivery_date
from {{ source('raw', 'ambassadors') }}
