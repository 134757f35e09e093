
  
  create view "warehouse"."staging"."stg_brand__campaigns__dbt_tmp" as (
    -- Campaign snapshots, every delivered snapshot.
select
    trim(campaign_id) as campaign_id,
    trim(brand) as brand,
    trim(sku) as sku,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    hashtags,
    exposed_zone_ids,
    delivery_date
from "warehouse"."raw"."campaigns"
  );
