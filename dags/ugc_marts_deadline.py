"""
### Marts deadline

Runs every day at `UGC_MARTS_DEADLINE` (local time in `UGC_TIMEZONE`, default 07:00) and fails
unless the **marts** asset was updated since midnight: the daily `ugc_ingest` run of the day
before and the `ugc_marts` run it triggers must both have completed by then. Its failure is the
deadline alert: the failure notifier sends it to the connections of `UGC_ALERT_CONN_IDS`, like
any failed task, naming the deadline and when the marts were last refreshed.

Why a scheduled check and not a `DeadlineAlert` on a DAG: a deadline alert watches the run it is
attached to, and `ugc_marts` is started by the assets: on a day the ingest fails or never runs,
there is no marts run, so no deadline to miss (docs/DECISIONS.md, "Alerts").
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task
from ugc_pipeline.airflow_support import layer_assets, schedule_timezone
from ugc_pipeline.alerts import dag_default_args
from ugc_pipeline.settings import marts_deadline_from_env

_, _, MARTS = layer_assets()
HOUR, MINUTE = marts_deadline_from_env()  # read from the environment when the file is parsed (no I/O)


@dag(
    dag_id="ugc_marts_deadline",
    doc_md=__doc__,
    schedule=CronTriggerTimetable(f"{MINUTE} {HOUR} * * *", timezone=schedule_timezone()),
    start_date=pendulum.datetime(2025, 1, 1, tz=schedule_timezone()),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(retries=1),
    tags=["ugc", "marts", "ops", "alerts"],
)
def ugc_marts_deadline():
    @task(inlets=[MARTS], execution_timeout=pendulum.duration(minutes=5), multiple_outputs=False)
    def check_marts_refreshed(**context) -> dict:
        """Fail unless the marts asset was updated between midnight and the deadline."""
        from ugc_pipeline.alerts import marts_deadline_task

        return marts_deadline_task(context, MARTS, schedule_timezone(), (HOUR, MINUTE))

    check_marts_refreshed()


ugc_marts_deadline()
