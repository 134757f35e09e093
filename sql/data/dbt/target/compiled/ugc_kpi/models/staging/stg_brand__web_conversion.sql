-- Daily web sessions and orders per SKU, every delivered version (restatements included).
select
    cast("date" as date) as activity_date,
    trim(sku) as sku,
    cast(sessions as bigint) as sessions,
    cast(orders as bigint) as orders,
    cast(revenue as double precision) as revenue,
    delivery_date,
    source_file,
    record_number
from "warehouse"."raw"."web_conversion"