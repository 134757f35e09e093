-- Daily store facts per (activity_date, store_id, sku): a restatement replaces the row.
with ranked as (
    select
        activity_date, store_id, sku, units, revenue,
        row_number() over (
            partition by activity_date, store_id, sku
            order by delivery_date desc, source_file desc, record_number desc
        ) as version_rank
    from "warehouse"."staging"."stg_brand__store_sales"
)

select activity_date, store_id, sku, units, revenue
from ranked
where version_rank = 1