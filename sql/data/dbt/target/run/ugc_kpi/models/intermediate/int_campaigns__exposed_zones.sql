
  
  create view "warehouse"."intermediate"."int_campaigns__exposed_zones__dbt_tmp" as (
    -- One row per campaign and zone exposed to its ambassadors.
with words as (
    select campaign_id, unnest(string_split(trim(regexp_replace(coalesce(exposed_zone_ids, ''), '\s+', ' ', 'g')), ' ')) as zone_id
    from "warehouse"."intermediate"."int_brand__campaigns_current"
)

select distinct campaign_id, zone_id
from words
where zone_id <> ''
  );
