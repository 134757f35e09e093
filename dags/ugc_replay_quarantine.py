"""
### Replay the quarantine

Run this after fixing an adapter mapping or an expectation: it re-ingests, from the landing
zone, every delivery that still has records in `audit.rejected_records` (optionally only one
`source` and a range of delivery days). Each delivery replaces its earlier load and its
quarantine, so replaying twice duplicates nothing; records that now pass load, the others stay
quarantined with their current reasons; `data_docs` rebuilds the GX Data Docs. It then emits
the raw and staging assets, so `ugc_marts` rebuilds the marts.

Manual only (no schedule). Same as `ugc-pipeline replay` on the command line.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task
from ugc_pipeline.airflow_support import layer_assets
from ugc_pipeline.alerts import dag_default_args
from ugc_pipeline.pools import POOL_CHECK_TASK_ID
from ugc_pipeline.settings import WAREHOUSE_POOL

RAW, STAGING, _ = layer_assets()


@dag(
    dag_id="ugc_replay_quarantine",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(retries=1),
    params={
        "source": Param(None, type=["null", "string"], description="Only this source (default: all)."),
        "from_date": Param(None, type=["null", "string"], format="date", description="First delivery day."),
        "to_date": Param(None, type=["null", "string"], format="date", description="Last delivery day."),
    },
    tags=["ugc", "quarantine", "ops"],
)
def ugc_replay_quarantine():
    @task
    def list_deliveries(**context) -> list[dict]:
        """The deliveries that still have quarantined records."""
        from ugc_pipeline.airflow_support import quarantined_deliveries_task

        return quarantined_deliveries_task(context)

    @task(outlets=[RAW], map_index_template="{{ task.op_kwargs['delivery'] }}", multiple_outputs=False)
    def replay(delivery: dict, **context) -> dict:
        """Re-ingest one delivery."""
        from ugc_pipeline.airflow_support import replay_delivery_task

        return replay_delivery_task(delivery, context)

    @task(task_id=POOL_CHECK_TASK_ID, retries=0)
    def check_pool() -> int | None:
        """Fail the run at its start when the `ugc_warehouse` pool does not exist (its tasks would
        wait in scheduled for ever), saying how to create it."""
        from ugc_pipeline.pools import check_pool_task

        return check_pool_task(WAREHOUSE_POOL)

    @task(pool=WAREHOUSE_POOL, outlets=[STAGING])
    def publish_staging(results: list[dict]) -> list[dict]:
        """Refresh the views; the staging asset makes ugc_marts rebuild."""
        from ugc_pipeline.airflow_support import settings_in_task
        from ugc_pipeline.warehouse import create_warehouse_engine, ensure_warehouse

        ensure_warehouse(create_warehouse_engine(settings_in_task().warehouse_url))
        return list(results)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def data_docs() -> str | None:
        """Rebuild the GX Data Docs from the stored validation results."""
        from ugc_pipeline.airflow_support import data_docs_task

        return data_docs_task()

    replays = replay.expand(delivery=list_deliveries())
    check_pool() >> publish_staging(replays)
    replays >> data_docs()


ugc_replay_quarantine()
