"""
### UGC KPI marts

Builds the dbt project in `sql/` (staging and intermediate views, the incremental KPI marts and
their dbt tests: one `dbt build`, in the task's process) whenever the `ugc_ingest` DAG has
published new raw and staging data (asset-scheduled):

| mart | grain |
|---|---|
| `marts.ugc_daily` | kpi_date, brand, sku, platform, content_type, influencer_tier |
| `marts.reach_daily` | kpi_date, brand, sku, platform, influencer_tier |
| `marts.conversion_daily` | kpi_date, sku |
| `marts.sales_uplift` | campaign_id |

Each mart rewrites only the KPI days (or campaigns) whose rows changed, in its own transaction;
a failed mart keeps its previous rows. The dbt documentation site is written under
`UGC_DBT_DIR`. `summarise` logs the headline KPIs. Column meanings: `docs/data_dictionary.md`;
why: `docs/DECISIONS.md`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from ugc_pipeline.airflow_support import layer_assets
from ugc_pipeline.settings import WAREHOUSE_POOL

RAW, STAGING, MARTS = layer_assets()


@dag(
    dag_id="ugc_marts",
    doc_md=__doc__,
    schedule=(RAW & STAGING),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    tags=["ugc", "marts", "kpi"],
)
def ugc_marts():
    @task(pool=WAREHOUSE_POOL, outlets=[MARTS])
    def build_marts() -> dict:
        """One `dbt build` of the project (views, incremental marts, tests), then its docs."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.pipeline import build_marts as rebuild

        return rebuild(settings_in_task())

    @task(pool=WAREHOUSE_POOL)
    def summarise(counts: dict) -> str:
        """Log the headline KPIs of the rebuilt marts."""
        import logging

        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.summary import kpi_summary

        text = kpi_summary(settings_in_task())
        logging.getLogger("ugc_pipeline.summary").info("KPI summary\n%s", text)
        return text

    summarise(build_marts())


ugc_marts()
