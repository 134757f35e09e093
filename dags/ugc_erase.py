"""
### Erase one person

Removes every item of one person from the warehouse: the raw rows (a review by that e-mail or
name, the posts of that handle, and, for an ambassador's handle in the roster, the ambassador's
roster rows, declared posts and survey answers), the quarantined records holding them, then
rebuilds the marts, so that the KPI days their items counted on are recomputed without them.
Writes one row to `audit.erasures`: the pseudonym and the counts, never the value given.

Give exactly one param. **Prefer `id`**: Airflow keeps a run's params in its metadata database,
so an e-mail given here stays there; the pseudonym does not say who it is. Get it without
erasing anything with `ugc-pipeline erase --email X --dry-run` (it prints the pseudonym only).
Manual only (no schedule). Same as `ugc-pipeline erase` on the command line; what an erasure
does not reach (the landing zone's files, backups) is in the README, "Erasing a person".
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from ugc_pipeline.airflow_support import layer_assets
from ugc_pipeline.alerts import dag_default_args
from ugc_pipeline.pools import POOL_CHECK_TASK_ID
from ugc_pipeline.settings import WAREHOUSE_POOL

_, _, MARTS = layer_assets()


@dag(
    dag_id="ugc_erase",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(retries=1),
    params={
        "id": Param(None, type=["null", "string"], description="The person's pseudonym (64 hex digits): preferred."),
        "email": Param(None, type=["null", "string"], description="A reviewer's e-mail (kept in Airflow's run)."),
        "handle": Param(None, type=["null", "string"], description="A platform handle (kept in Airflow's run)."),
        "name": Param(None, type=["null", "string"], description="A reviewer's name (kept in Airflow's run)."),
        "dry_run": Param(False, type="boolean", description="Count what would be erased, change nothing."),
    },
    tags=["ugc", "personal-data", "ops"],
)
def ugc_erase():
    @task(pool=WAREHOUSE_POOL, outlets=[MARTS], multiple_outputs=False)
    def erase(**context) -> dict:
        """Erase, in one transaction, then rebuild the marts; returns the pseudonym and the counts."""
        from ugc_pipeline.airflow_support import erase_task

        return erase_task(context)

    @task(task_id=POOL_CHECK_TASK_ID, retries=0)
    def check_pool() -> int | None:
        """Fail the run at its start when the `ugc_warehouse` pool does not exist, saying how to create it."""
        from ugc_pipeline.pools import check_pool_task

        return check_pool_task(WAREHOUSE_POOL)

    check_pool() >> erase()


ugc_erase()
