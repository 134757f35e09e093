
  
  create view "warehouse"."staging"."stg_youtube__channels__dbt_tmp" as (
    -- YouTube channels, one row per delivered version: subscribers are the author's followers.
select
    channel_id,
    case when coalesce(cast(hidden_subscriber_count as boolean), false) then null
         else cast(subscriber_count as bigint) end as subscriber_count,
    delivery_date,
    source_file,
    record_number
from "warehouse"."raw"."youtube_channels"
  );
