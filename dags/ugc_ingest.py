"""
### UGC daily ingest

Reads folder **D** of every source of the landing zone (`UGC_LANDING_URI/{source}/{D}/`) and loads
it into the warehouse's **raw** layer; D is the run's data interval day in `UGC_TIMEZONE`.

- One task per source: sources load independently, and one broken export fails only its task.
  Each task parses its files set-based with DuckDB, validates the records with the source's
  Great Expectations suite (summary in the task log), quarantines
  those that fail in `audit.rejected_records`, replaces the delivery's raw rows in one
  transaction, and writes one row to `audit.pipeline_runs`.
- The business snapshots (products, stores, ambassadors, campaigns) load first: the other
  sources' SKUs, locations, campaigns and ambassadors are checked against them.
- The source tasks run side by side: each parses and validates its delivery without touching
  the warehouse and holds it only for short reads and the one transaction that writes the day.
  On DuckDB, which allows a single writer, a task that finds the file taken waits for it
  (`UGC_LOCK_WAIT_SECONDS`); PostgreSQL takes the writes concurrently.
- `publish_staging` emits the **staging** asset once every source succeeded; the `ugc_marts` DAG
  is scheduled on it. The staging and intermediate layers are dbt views (built by `ugc_marts`)
  that read the raw layer as it is: once a day's sources are loaded, they show it. A day on
  which no source delivered anything is not published (the task is skipped, the marts are not
  rebuilt).
- `check_deliveries` judges the day's deliveries from `audit.pipeline_runs` once every source is
  done, and fails with a message naming source, days and figures when no source delivered
  anything, when a source marked required in `UGC_SOURCE_CHECKS` has delivered nothing for more
  days than allowed, or when a delivery is far below its source's recent average. An empty
  delivery folder is "nothing delivered" (a warning and a `no_delivery` run record), not an error.
- Every task fails after `UGC_TASK_TIMEOUT_MINUTES`; a task that failed for good alerts the
  connections of `UGC_ALERT_CONN_IDS` (e-mail or webhook: README, "Operating").
- `data_docs` rebuilds the Great Expectations Data Docs (under `UGC_GX_DIR`) from the day's
  validation results once every source is done, failed ones included.
- A broken export fails its task at once with a one-line error naming the file (no retry: the
  file must be fixed and re-delivered); other errors (storage, network) are retried twice.
- Sources listed in `UGC_PULL_SOURCES` are **pulled** from their platform's API first: a
  `pull_<source>` task writes the day's response pages, byte for byte, into the source's day
  folder (credentials from the source's Airflow connection; incremental from a saved cursor, with
  a lookback window; resumes after a crash; a complete day is not pulled again unless the
  `force_pull` param is set). Its `ingest_<source>` task then loads the folder as it loads a
  dropped delivery, and refuses a day whose pull did not complete. The other sources are dropped
  into the landing zone by something else and have no pull task.
- Reprocess a day: trigger with the `delivery_date` param (YYYY-MM-DD). A manual run without a
  logical date and without the param processes the last complete day.
- Backfill a range in one run: `delivery_date` and `through_date`. Each source task loads the
  days one after another, in order (each day its own transaction and run record; a broken day
  fails the task at the end without stopping the others), and the marts build once at the end.
  Same as `ugc-pipeline backfill --start D --end D`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, TriggerRule, cross_downstream, dag, task
from ugc_pipeline.airflow_support import layer_assets, schedule_timezone
from ugc_pipeline.alerts import dag_default_args
from ugc_pipeline.pools import POOL_CHECK_TASK_ID
from ugc_pipeline.settings import WAREHOUSE_POOL, pull_sources_from_env
from ugc_pipeline.sources import SOURCES

RAW, STAGING, _ = layer_assets()
PULLED = pull_sources_from_env()  # the environment decides the DAG's shape (no I/O, no Variable)


@dag(
    dag_id="ugc_ingest",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=schedule_timezone()),
    start_date=pendulum.datetime(2025, 1, 1, tz=schedule_timezone()),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(retries=2),
    params={"delivery_date": Param(None, type=["null", "string"], format="date",
                                   description="Process this delivery day instead of the run's day."),
            "through_date": Param(None, type=["null", "string"], format="date",
                                  description="With delivery_date: process every day up to this one (a backfill)."),
            "force_pull": Param(False, type="boolean",
                                description="Pull the day again even if an earlier pull completed (pulled sources).")},
    tags=["ugc", "ingest", "raw"],
)
def ugc_ingest():
    @task(outlets=[RAW], multiple_outputs=False)
    def ingest(source: str, **context) -> dict:
        """Load one source's delivery of the day into the raw layer."""
        from ugc_pipeline.airflow_support import run_ingest_task

        return run_ingest_task(source, context)

    @task(multiple_outputs=False)
    def pull(source: str, **context) -> dict:
        """Pull one source's pages of the day from its API into the landing zone."""
        from ugc_pipeline.airflow_support import run_pull_task

        return run_pull_task(source, context)

    @task(task_id=POOL_CHECK_TASK_ID, retries=0)
    def check_pool() -> int | None:
        """Fail the run at its start when the `ugc_warehouse` pool does not exist (its tasks would
        wait in scheduled for ever), saying how to create it."""
        from ugc_pipeline.pools import check_pool_task

        return check_pool_task(WAREHOUSE_POOL)

    @task(pool=WAREHOUSE_POOL, outlets=[STAGING], multiple_outputs=False)
    def publish_staging(results: list[dict]) -> dict:
        """Publish the staging asset once every source has loaded (the staging and intermediate
        views are dbt's, built by ugc_marts, and read the raw layer live); skipped when no
        source delivered anything."""
        from ugc_pipeline.airflow_support import publish_staging_task

        return publish_staging_task(results)

    @task(trigger_rule=TriggerRule.ALL_DONE, multiple_outputs=False)
    def check_deliveries(**context) -> dict:
        """Fail on a day without any delivery, a required source missing too long, a thin delivery."""
        from ugc_pipeline.airflow_support import check_deliveries_task

        return check_deliveries_task(context)

    # Business snapshots first: the other sources' records are checked against them. The other
    # sources still run if a snapshot fails (checked against what was loaded before).
    references = [ingest.override(task_id=f"ingest_{n}")(source=n) for n, s in SOURCES.items() if s.is_reference]
    others = {n: ingest.override(task_id=f"ingest_{n}", trigger_rule=TriggerRule.ALL_DONE)(source=n)
              for n, s in SOURCES.items() if not s.is_reference}
    cross_downstream(references, list(others.values()))
    # A pulled source's load waits for its pull, and runs even when the pull failed, to record it.
    for name in PULLED:
        pull.override(task_id=f"pull_{name}")(source=name) >> others[name]

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def data_docs() -> str | None:
        """Rebuild the GX Data Docs from the stored validation results (once per run, not per source)."""
        from ugc_pipeline.airflow_support import data_docs_task

        return data_docs_task()

    loads = references + list(others.values())
    check_pool() >> publish_staging(loads)  # the check runs beside the loads, at the run's start
    loads >> data_docs()
    loads >> check_deliveries()

ugc_ingest()
