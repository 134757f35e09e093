"""
### UGC daily ingest

Reads folder **D** of every source of the landing zone (`UGC_LANDING_URI/{source}/{D}/`) and loads
it into the warehouse's **raw** layer; D is the run's data interval day in `UGC_TIMEZONE`.

- One task per source: sources load independently, and one broken export fails only its task.
  Each task parses its files set-based with DuckDB, quarantines the records that fail their
  checks in `audit.rejected_records`, replaces the delivery's raw rows in one transaction, and
  writes one row to `audit.pipeline_runs`.
- Tasks that write the warehouse take a slot of the `ugc_warehouse` pool (1 slot for DuckDB,
  which allows a single writer; raise it for PostgreSQL).
- `publish_staging` refreshes the staging and intermediate views once every source succeeded and
  emits the **staging** asset; the `ugc_marts` DAG is scheduled on it.
- A broken export fails its task at once with a one-line error naming the file (no retry: the
  file must be fixed and re-delivered); other errors (storage, network) are retried twice.
- Reprocess a day: trigger with the `delivery_date` param (YYYY-MM-DD). A manual run without a
  logical date and without the param processes the last complete day.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task
from ugc_pipeline.airflow_support import RAW_ASSET_URI, STAGING_ASSET_URI, schedule_timezone
from ugc_pipeline.settings import WAREHOUSE_POOL
from ugc_pipeline.sources import SOURCES

RAW = Asset(name="ugc_raw", uri=RAW_ASSET_URI, group="ugc_warehouse")
STAGING = Asset(name="ugc_staging", uri=STAGING_ASSET_URI, group="ugc_warehouse")


@dag(
    dag_id="ugc_ingest",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=schedule_timezone()),
    start_date=pendulum.datetime(2025, 1, 1, tz=schedule_timezone()),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    params={"delivery_date": Param(None, type=["null", "string"], format="date",
                                   description="Process this delivery day instead of the run's day.")},
    tags=["ugc", "ingest", "raw"],
)
def ugc_ingest():
    @task(pool=WAREHOUSE_POOL, outlets=[RAW])
    def ingest(source: str, **context) -> dict:
        """Load one source's delivery of the day into the raw layer."""
        from ugc_pipeline.airflow_support import run_ingest_task

        return run_ingest_task(source, context)

    @task(pool=WAREHOUSE_POOL, outlets=[STAGING])
    def publish_staging(results: list[dict]) -> dict:
        """Refresh the staging and intermediate views once every source has loaded."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.warehouse import create_warehouse_engine, ensure_warehouse

        ensure_warehouse(create_warehouse_engine(settings_in_task().warehouse_url))
        return {r["source"]: r["records_loaded"] for r in results}

    loads = [ingest.override(task_id=f"ingest_{name}")(source=name) for name in SOURCES]
    publish_staging(loads)


ugc_ingest()
