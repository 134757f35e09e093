"""What every task process of the pipeline imports, loaded once before the processes fork.

Under Airflow's LocalExecutor each task runs in a process forked from an executor worker. A task
of this project spends most of its few seconds importing (Great Expectations about 5 s of CPU,
pandas, DuckDB, SQLAlchemy and the package 2 s, dbt and Cosmos 3-4 s), not working on data: on a
2-core machine fourteen source tasks pay it fourteen times. Every task then loads Airflow's plugins
(Cosmos' UI plugin imports FastAPI: 0.3 s of CPU) and parses its DAG file with Airflow's DAG bag
(0.2 s of CPU to import the first time) and the Cosmos profiles: imported here too, they cost the
40-odd small tasks of a marts run nothing.
Airflow 3.3 can start the executor's workers from a fork server that imported chosen modules first,
so the tasks inherit them copy-on-write::

    AIRFLOW__SCHEDULER__MP_START_METHOD=forkserver
    AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD=ugc_pipeline.task_preload

(``scripts/airflow-standalone`` and the scheduler benchmark set them; docs/DEPLOYING.md). This
module only imports: no I/O, no connection, no thread. Celery workers fork their own way and do
not read these settings.
"""

from __future__ import annotations

import cosmos.profiles  # noqa: F401  (the marts DAG's profile mapping)
import fastapi.responses  # noqa: F401  (Cosmos' UI plugin, loaded by every task's listener set-up)
import great_expectations  # noqa: F401
import great_expectations.expectations  # noqa: F401
from airflow.dag_processing.dagbag import BundleDagBag  # noqa: F401  (how a task parses its DAG file)
from airflow.sdk.definitions import decorators  # noqa: F401  (@dag, @task)
from airflow.sdk.execution_time import task_runner  # noqa: F401
from cosmos import DbtTaskGroup  # noqa: F401
from dbt.cli.main import dbtRunner  # noqa: F401

from ugc_pipeline import airflow_support, marts_dag, pipeline, transform, validation, warehouse  # noqa: F401
