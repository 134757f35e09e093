-- Store sales uplift of each campaign by difference in differences: stores of the brand in the
-- zones exposed to ambassadors (test) against the brand's other stores (control).
with campaigns as (
    select
        campaigns.*,
        -- "during" stops at the last day the sales panel covers, so a running campaign is not
        -- diluted by days that have no data yet.
        least(campaigns.end_date, (select max(activity_date) from "warehouse"."intermediate"."int_brand__store_sales_latest"))
            as during_end_date
    from "warehouse"."intermediate"."int_brand__campaigns_current" as campaigns
),

panel as (
    select
        campaigns.campaign_id,
        stores.store_id,
        case when zones.zone_id is not null then 'test' else 'control' end as arm
    from campaigns
    inner join "warehouse"."intermediate"."int_brand__stores_current" as stores
        on stores.brand = campaigns.brand
    left join "warehouse"."intermediate"."int_campaigns__exposed_zones" as zones
        on zones.campaign_id = campaigns.campaign_id
       and zones.zone_id = stores.zone_id
),

units as (
    select
        panel.campaign_id,
        panel.arm,
        count(distinct panel.store_id) as stores,
        coalesce(sum(case when sales.activity_date < campaigns.start_date then sales.units end), 0) as pre_units,
        coalesce(sum(case when sales.activity_date >= campaigns.start_date then sales.units end), 0) as during_units
    from panel
    inner join campaigns
        on campaigns.campaign_id = panel.campaign_id
    left join "warehouse"."intermediate"."int_brand__store_sales_latest" as sales
        on sales.store_id = panel.store_id
       and sales.sku = campaigns.sku
       and sales.activity_date between campaigns.start_date - 28 and campaigns.during_end_date
    group by panel.campaign_id, panel.arm
),

averages as (
    -- Per-store daily average units: a store-day without a panel row sold 0.
    select
        units.campaign_id,
        units.arm,
        units.stores,
        cast(units.pre_units as double precision) / (units.stores * 28) as pre_avg,
        case when campaigns.during_end_date >= campaigns.start_date
             then cast(units.during_units as double precision)
                  / (units.stores * (campaigns.during_end_date - campaigns.start_date + 1))
        end as during_avg
    from units
    inner join campaigns on campaigns.campaign_id = units.campaign_id
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