-- Product catalogue snapshots, every delivered snapshot.
select
    trim(sku) as sku,
    nullif(trim(gtin), '') as gtin,
    product_name,
    trim(brand) as brand,
    category,
    delivery_date
from "warehouse"."raw"."products"