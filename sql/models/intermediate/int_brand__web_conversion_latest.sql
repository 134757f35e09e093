-- Daily web facts per (activity_date, sku): a later delivery (restatement) replaces the row.
with ranked as (
    select
        activity_date, sku, sessions, orders, revenue,
        row_number() over (
            partition by activity_date, sku
            order by delivery_date desc, source_file desc, record_number desc
        ) as version_rank
    from {{ ref('stg_brand__web_conversion') }}
)

select activity_date, sku, sessions, orders, revenue
from ranked
where version_rank = 1
