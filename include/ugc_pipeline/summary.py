"""A short, plain-text KPI summary of the marts (printed by the demo and logged by ugc_marts)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import make_url

from ugc_pipeline import warehouse
from ugc_pipeline.settings import Settings


def _fmt_pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:+.1%}"


def kpi_summary(settings: Settings) -> str:
    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    q = lambda sql: warehouse.query_frame(engine, sql)  # noqa: E731
    lines: list[str] = []

    ugc = q("""
        select platform, influencer_tier, sum(ugc_count) as items, sum(review_count) as reviews,
               sum(rating_count) as ratings, sum(with_media_count) as with_media
        from marts.ugc_daily group by platform, influencer_tier order by items desc, platform""")
    span = q("select min(kpi_date) as first_day, max(kpi_date) as last_day, sum(ugc_count) as items "
             "from marts.ugc_daily").iloc[0]
    lines.append(f"UGC items: {int(span['items'] or 0)} from {span['first_day']} to {span['last_day']}, "
                 "by platform and influencer tier:")
    lines.append(ugc.to_string(index=False) if not ugc.empty else "  (none)")

    reach = q("""
        select sum(post_count) as posts, sum(potential_reach) as potential_reach, sum(views) as views,
               sum(engagements) as engagements, sum(offline_reach) as offline_reach,
               sum(survey_respondents) as survey_respondents, sum(survey_answers) as survey_answers
        from marts.reach_daily""").iloc[0]
    lines.append("")
    lines.append(
        f"Reach online: {int(reach['posts'] or 0)} posts, potential reach {int(reach['potential_reach'] or 0):,}, "
        f"views {int(reach['views'] or 0):,}, engagements {int(reach['engagements'] or 0):,}")
    lines.append(
        f"Reach offline (word of mouth): {int(reach['offline_reach'] or 0):,} people told, from "
        f"{int(reach['survey_answers'] or 0)} answers of {int(reach['survey_respondents'] or 0)} respondents")

    conv = q("""
        select c.campaign_id, c.sku, c.kpi_date as last_day, c.conversion_rate, c.conversion_variation,
               c.cumulative_reviews, c.review_bucket
        from marts.conversion_daily as c
        where c.campaign_id is not null
          and c.kpi_date = (select max(kpi_date) from marts.conversion_daily as x
                            where x.sku = c.sku and x.campaign_id is not null)
        order by c.campaign_id""")
    lines.append("")
    lines.append("Conversion (last day with web data; variation = last 7 days vs 28 days before the campaign):")
    if conv.empty:
        lines.append("  (no campaign SKU with web data)")
    for row in conv.itertuples():
        lines.append(f"  {row.campaign_id} {row.sku} on {row.last_day}: conversion variation "
                     f"{_fmt_pct(row.conversion_variation)}, {row.cumulative_reviews} reviews ({row.review_bucket})")

    uplift = q("select campaign_id, sku, test_stores, control_stores, during_days, uplift "
               "from marts.sales_uplift order by campaign_id")
    lines.append("")
    lines.append("Store sales uplift (difference in differences, exposed zones vs the brand's other zones):")
    if uplift.empty:
        lines.append("  (no campaign)")
    for row in uplift.itertuples():
        lines.append(f"  {row.campaign_id} {row.sku}: {_fmt_pct(row.uplift)} over {row.during_days} day(s), "
                     f"{row.test_stores} test vs {row.control_stores} control stores")

    runs = q("""select count(*) as runs, sum(records_loaded) as loaded, sum(records_rejected) as rejected,
                       count(case when status = 'failed' then 1 end) as failed
                from audit.pipeline_runs""").iloc[0]
    lines.append("")
    lines.append(f"Audit: {int(runs['runs'])} source loads, {int(runs['loaded'] or 0):,} records loaded, "
                 f"{int(runs['rejected'] or 0):,} quarantined (audit.rejected_records), {int(runs['failed'])} failed")
    url = make_url(settings.warehouse_url)
    where = url.database if url.get_backend_name() == "duckdb" else url.render_as_string(hide_password=True)
    lines.append(f"Warehouse: {where}")
    return "\n".join(lines)
