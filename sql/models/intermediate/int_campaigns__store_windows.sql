-- Per campaign and store of its brand: the store's arm (test = in an exposed zone, control = the
-- brand's other zones) and its daily average units of the campaign's SKU before the campaign
-- (the 28 days before start_date) and during it (start_date to end_date, cut at the last day the
-- sales panel covers). A store-day without a panel row sold 0. The mean of pre_avg over a
-- campaign's test stores is marts.sales_uplift's test_pre, and so on; the spread between stores
-- is what the uplift's interval in marts.campaign_summary is made of.
with campaigns as (
    select
        campaigns.campaign_id,
        campaigns.brand,
        campaigns.sku,
        campaigns.start_date,
        least(campaigns.end_date, (select max(activity_date) from {{ ref('int_brand__store_sales_latest') }}))
            as during_end_date
    from {{ ref('int_brand__campaigns_current') }} as campaigns
),

panel as (
    select
        campaigns.campaign_id,
        stores.store_id,
        case when zones.zone_id is not null then 'test' else 'control' end as arm
    from campaigns
    inner join {{ ref('int_brand__stores_current') }} as stores
        on stores.brand = campaigns.brand
    left join {{ ref('int_campaigns__exposed_zones') }} as zones
        on zones.campaign_id = campaigns.campaign_id
       and zones.zone_id = stores.zone_id
),

units as (
    select
        panel.campaign_id,
        panel.store_id,
        panel.arm,
        coalesce(sum(case when sales.activity_date < campaigns.start_date then sales.units end), 0) as pre_units,
        coalesce(sum(case when sales.activity_date >= campaigns.start_date then sales.units end), 0) as during_units
    from panel
    inner join campaigns
        on campaigns.campaign_id = panel.campaign_id
    left join {{ ref('int_brand__store_sales_latest') }} as sales
        on sales.store_id = panel.store_id
       and sales.sku = campaigns.sku
       and sales.activity_date between campaigns.start_date - 28 and campaigns.during_end_date
    group by panel.campaign_id, panel.store_id, panel.arm
),

final as (
    select
        units.campaign_id,
        units.store_id,
        units.arm,
        units.pre_units,
        units.during_units,
        case when campaigns.during_end_date >= campaigns.start_date
             then campaigns.during_end_date - campaigns.start_date + 1 else 0 end as during_days,
        cast(units.pre_units as double precision) / 28 as pre_avg,
        case when campaigns.during_end_date >= campaigns.start_date
             then cast(units.during_units as double precision)
                  / (campaigns.during_end_date - campaigns.start_date + 1)
        end as during_avg
    from units
    inner join campaigns on campaigns.campaign_id = units.campaign_id
)

select * from final
