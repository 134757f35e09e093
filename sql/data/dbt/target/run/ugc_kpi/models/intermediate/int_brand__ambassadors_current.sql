
  
  create view "warehouse"."intermediate"."int_brand__ambassadors_current__dbt_tmp" as (
    -- The newest ambassador roster (one row per ambassador and platform).
select ambassador_id, platform, handle, followers, zone_id
from "warehouse"."staging"."stg_brand__ambassadors"
where delivery_date = (select max(delivery_date) from "warehouse"."staging"."stg_brand__ambassadors")
  );
