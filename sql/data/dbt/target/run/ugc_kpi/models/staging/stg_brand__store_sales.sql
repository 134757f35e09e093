
  
  create view "warehouse"."staging"."stg_brand__store_sales__dbt_tmp" as (
    -- Daily units sold per store and SKU, every delivered version (restatements included).
select
    cast("date" as date) as activity_date,
    trim(store_id) as store_id,
    trim(sku) as sku,
    cast(units as bigint) as units,
    cast(revenue as double precision) as revenue,
    delivery_date,
    source_file,
    record_number
from "warehouse"."raw"."store_sales"
  );
