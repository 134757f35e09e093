-- The newest product snapshot (a SKU absent from it no longer exists).
select sku, gtin, product_name, brand, category
from "warehouse"."staging"."stg_brand__products"
where delivery_date = (select max(delivery_date) from "warehouse"."staging"."stg_brand__products")