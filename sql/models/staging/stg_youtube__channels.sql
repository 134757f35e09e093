-- YouTube channels, one row per delivered version: subscribers are the author's followers.
-- Raw columns are the API's field paths joined by __ (mixed case: quoted); renamed and cast here.
select
    id as channel_id,
    case when coalesce(cast("statistics__hiddenSubscriberCount" as boolean), false) then null
         else cast("statistics__subscriberCount" as bigint) end as subscriber_count,
    delivery_date,
    source_file,
    record_number
from {{ source('raw', 'youtube_channels') }}
