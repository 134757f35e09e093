-- Store sales uplift of each campaign by difference in differences: stores of the brand in the
-- zones exposed to ambassadors (test) against the brand's other stores (control).
with campaigns as (
    select
        campaigns.*,
        -- "during" stops at the last day the sales panel covers, so a running campaign is not
        -- diluted by days that have no data yet.
        least(campaigns.end_date, (select max(activity_date) from {{ ref('int_brand__store_sales_latest') }}))
            as during_end_date
    from {{ ref('int_brand__campaigns_current') }} as campaigns
),

averages as (
    -- Per arm, the per-store daily average units (each store's windows, a store-day without a
    -- panel row selling 0: int_campaigns__store_windows, which marts.campaign_summary's interval
    -- reads too).
    select
        campaign_id,
        arm,
        count(*) as stores,
        cast(sum(pre_units) as double precision) / (count(*) * 28) as pre_avg,
        case when max(during_days) > 0
             then cast(sum(during_units) as double precision) / (count(*) * max(during_days))
        end as during_avg
    from {{ ref('int_campaigns__store_windows') }}
    group by campaign_id, arm
),

final as (
    select
        campaigns.campaign_id,
        campaigns.sku,
        coalesce(test.stores, 0) as test_stores,
        coalesce(control.stores, 0) as control_stores,
        test.pre_avg as test_pre,
        test.during_avg as test_during,
        control.pre_avg as control_pre,
        control.during_avg as control_during,
        test.pre_avg * control.during_avg / nullif(control.pre_avg, 0) as forecast,
        test.during_avg / nullif(test.pre_avg * control.during_avg / nullif(control.pre_avg, 0), 0) - 1 as uplift,
        campaigns.start_date,
        campaigns.end_date,
        case when campaigns.during_end_date >= campaigns.start_date
             then campaigns.during_end_date - campaigns.start_date + 1 else 0 end as during_days
    from campaigns
    left join averages as test on test.campaign_id = campaigns.campaign_id and test.arm = 'test'
    left join averages as control on control.campaign_id = campaigns.campaign_id and control.arm = 'control'
)

select * from final
