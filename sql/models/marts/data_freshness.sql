-- How fresh each source is: up to which delivery day it is loaded (from the run records,
-- audit.pipeline_runs: the latest record of each source and delivery day decides), and the latest
-- KPI day its data reaches in the marts. One row per source folder of the landing zone: every
-- source the raw layer declares, plus any other that has run records.
{%- set folders = [] %}
{%- if execute %}
    {%- for node in graph.sources.values() if node.source_name == 'raw' %}
        {%- set folder = (node.config.get('meta') or {}).get('source_folder') or (node.meta or {}).get('source_folder')
                         or node.name %}
        {%- if folder not in folders %}{%- do folders.append(folder) %}{%- endif %}
    {%- endfor %}
{%- endif %}
with declared as (
    {%- for folder in folders | sort %}
    select {{ dbt.string_literal(folder) }} as source
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as source where false
    {%- endfor %}
),

runs as (
    -- the latest finished record of each source and delivery day (a run still under way is not
    -- an answer yet; a rerun or a replay supersedes the earlier records of its day)
    select
        source,
        delivery_date,
        status,
        row_number() over (
            partition by source, delivery_date
            order by started_at desc, finished_at desc
        ) as record_rank
    from {{ source('audit', 'pipeline_runs') }}
    where status <> 'running'
),

days as (
    select
        source,
        max(case when status = 'success' then delivery_date end) as loaded_through,
        max(case when status in ('success', 'no_delivery') then delivery_date end) as checked_through,
        count(case when status = 'success' then 1 end) as delivery_days_loaded,
        count(case when status not in ('success', 'no_delivery') then 1 end) as failed_days,
        min(case when status not in ('success', 'no_delivery') then delivery_date end) as first_failed_day
    from runs
    where record_rank = 1
    group by source
),

sources as (
    select source from declared
    union
    select source from days
),

kpi_days as (
    select source, max(kpi_date) as latest_kpi_date
    from {{ ref('int_ugc_items__enriched') }}
    where is_counted
    group by source
    union all
    select 'wom_surveys', max({{ ugc_local_date('answered_at') }})
    from {{ ref('int_wom__responses_latest') }}
    union all
    select 'web_conversion', max(activity_date)
    from {{ ref('int_brand__web_conversion_latest') }}
    union all
    select 'store_sales', max(activity_date)
    from {{ ref('int_brand__store_sales_latest') }}
),

final as (
    select
        sources.source,
        days.loaded_through,
        days.checked_through,
        cast(coalesce(days.delivery_days_loaded, 0) as bigint) as delivery_days_loaded,
        cast(coalesce(days.failed_days, 0) as bigint) as failed_days,
        days.first_failed_day,
        kpi_days.latest_kpi_date
    from sources
    left join days on days.source = sources.source
    left join kpi_days on kpi_days.source = sources.source
)

select * from final
