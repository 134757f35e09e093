-- Web conversion by how many reviews the product page had (review bucket 0 / 1-9 / 10-49 / 50+),
-- per SKU and pooled over every SKU (sku null), with the lift of each bucket against bucket 0 and
-- its 95% interval (Katz interval of a ratio of two proportions; docs/DECISIONS.md).
with days as (
    select sku, review_bucket, sessions, orders
    from {{ ref('conversion_daily') }}
),

per_sku as (
    select
        sku,
        review_bucket,
        count(*) as days,
        cast(coalesce(sum(sessions), 0) as bigint) as sessions,
        cast(coalesce(sum(orders), 0) as bigint) as orders
    from days
    group by sku, review_bucket
),

pooled as (
    select
        cast(null as {{ dbt.type_string() }}) as sku,
        review_bucket,
        sum(days) as days,
        sum(sessions) as sessions,
        sum(orders) as orders
    from per_sku
    group by review_bucket
),

buckets as (
    select sku, review_bucket, cast(days as bigint) as days, cast(sessions as bigint) as sessions,
           cast(orders as bigint) as orders
    from per_sku
    union all
    select sku, review_bucket, cast(days as bigint), cast(sessions as bigint), cast(orders as bigint)
    from pooled
),

compared as (
    select
        buckets.*,
        case buckets.review_bucket when '0' then 0 when '1-9' then 1 when '10-49' then 2 else 3 end as bucket_order,
        cast(buckets.orders as double precision) / nullif(buckets.sessions, 0) as conversion_rate,
        baseline.sessions as baseline_sessions,
        baseline.orders as baseline_orders,
        cast(baseline.orders as double precision) / nullif(baseline.sessions, 0) as baseline_conversion_rate
    from buckets
    left join buckets as baseline
        on baseline.sku is not distinct from buckets.sku
       and baseline.review_bucket = '0'
       and buckets.review_bucket <> '0'
),

ratios as (
    select
        *,
        conversion_rate / nullif(baseline_conversion_rate, 0) as rate_ratio,
        {{ ugc_log_ratio_se('orders', 'sessions', 'baseline_orders', 'baseline_sessions') }} as log_se,
        sessions >= {{ ugc_min_sessions() }} and baseline_sessions >= {{ ugc_min_sessions() }}
            and orders >= {{ ugc_min_orders() }} and baseline_orders >= {{ ugc_min_orders() }} as is_enough
    from compared
),

estimates as (
    select
        *,
        {{ ugc_interval_bound('rate_ratio', 'log_se', 'low') }} as lift_low,
        {{ ugc_interval_bound('rate_ratio', 'log_se', 'high') }} as lift_high
    from ratios
),

final as (
    select
        sku,
        sku is null as is_pooled,
        review_bucket,
        bucket_order,
        days,
        sessions,
        orders,
        conversion_rate,
        baseline_sessions,
        baseline_orders,
        baseline_conversion_rate,
        rate_ratio - 1 as lift,
        lift_low,
        lift_high,
        case when review_bucket <> '0' then {{ ugc_verdict('is_enough', 'lift_low', 'lift_high') }} end as verdict
    from estimates
)

select * from final
