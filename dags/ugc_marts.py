"""
### UGC KPI marts

Builds the dbt project in `sql/` whenever the `ugc_ingest` DAG has published new raw and staging
data (asset-scheduled):

| mart | grain |
|---|---|
| `marts.ugc_daily` | kpi_date, brand, sku, platform, content_type, influencer_tier |
| `marts.reach_daily` | kpi_date, brand, sku, platform, influencer_tier |
| `marts.conversion_daily` | kpi_date, sku |
| `marts.sales_uplift` | campaign_id |

`dbt_build` runs one `dbt build` (staging and intermediate views, the incremental KPI marts, their
dbt tests, then the dbt documentation site under `UGC_DBT_DIR`). The task group `dbt` is the
project rendered by Cosmos: one task per model (with its tests) in dbt's order, each showing its
model's outcome in that build; a failed model fails its own task, and its retry builds the model
again with what it depends on. Each mart rewrites only the KPI days (or campaigns) whose rows
changed, in its own transaction; a failed mart keeps its previous rows. On a DuckDB warehouse,
`publish_readonly_copy` then replaces the read-only copy that readers open (`UGC_PUBLISHED_WAREHOUSE`)
atomically: an analyst's open session never blocks a run nor sees a half-built state (a failed
build publishes nothing). `summarise` logs the headline KPIs and publishes the marts asset;
`write_report` writes the HTML KPI report (one page per KPI day and an index) to `UGC_REPORT_DIR`.
Column meanings: `docs/data_dictionary.md`; why:
`docs/DECISIONS.md` ("The marts DAG on Cosmos").
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from ugc_pipeline.airflow_support import layer_assets
from ugc_pipeline.alerts import dag_default_args
from ugc_pipeline.marts_dag import BUILD_TASK_ID, dbt_task_group
from ugc_pipeline.pools import POOL_CHECK_TASK_ID
from ugc_pipeline.settings import WAREHOUSE_POOL

RAW, STAGING, MARTS = layer_assets()


@dag(
    dag_id="ugc_marts",
    doc_md=__doc__,
    schedule=(RAW & STAGING),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(retries=2),
    tags=["ugc", "marts", "kpi", "dbt"],
)
def ugc_marts():
    @task(task_id=POOL_CHECK_TASK_ID, retries=0)
    def check_pool() -> int | None:
        """Fail the run at its start when the `ugc_warehouse` pool does not exist (its tasks would
        wait in scheduled for ever), saying how to create it."""
        from ugc_pipeline.pools import check_pool_task

        return check_pool_task(WAREHOUSE_POOL)

    @task(task_id=BUILD_TASK_ID, pool=WAREHOUSE_POOL, multiple_outputs=False)
    def dbt_build() -> dict:
        """One `dbt build` of the project (views, incremental marts, tests), then its docs; the
        outcome of every node, for the tasks of the `dbt` group."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.marts_dag import build_once

        return build_once(settings_in_task())

    @task(pool=WAREHOUSE_POOL, outlets=[MARTS])
    def summarise() -> str:
        """Log the headline KPIs of the rebuilt marts; publish the marts asset."""
        import logging

        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.summary import kpi_summary

        text = kpi_summary(settings_in_task())
        logging.getLogger("ugc_pipeline.summary").info("KPI summary\n%s", text)
        return text

    @task(pool=WAREHOUSE_POOL)
    def publish_readonly_copy() -> str | None:
        """DuckDB: replace the read-only copy readers open, atomically (PostgreSQL: nothing to do)."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.publish import publish_readonly_copy as publish

        published = publish(settings_in_task())
        return str(published.path) if published else None

    @task
    def write_report() -> str | None:
        """The HTML KPI report of the marts (one page per KPI day, an index), to UGC_REPORT_DIR."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.report import write_report as write

        index = write(settings_in_task())
        return str(index) if index else None

    check_pool() >> dbt_build() >> dbt_task_group() >> publish_readonly_copy() >> [summarise(), write_report()]


ugc_marts()
