"""The settings a caller gives ``run_days`` are the settings the Airflow tasks work with: the
runner exports them as environment variables, and each task loads them back; an Airflow Variable
of a setting's name overrides it in the tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from ugc_pipeline.settings import SETTING_NAMES, Settings


def test_settings_exported_for_the_tasks_load_back_unchanged(monkeypatch, tmp_path):
    from ugc_pipeline.runner import export_settings

    for name in SETTING_NAMES:  # whatever export_settings writes is undone after the test
        monkeypatch.setenv(name, "")
    # the pseudonymisation key is a secret: never exported, the tasks read it where it was set
    monkeypatch.delenv("UGC_PII_KEY", raising=False)
    settings = Settings(landing_uri=str(tmp_path / "landing"), warehouse_url=f"duckdb:///{tmp_path}/wh.duckdb",
                        timezone="Europe/Paris", warehouse_conn_id="kpi_pg", landing_conn_id="minio")

    export_settings(settings)

    assert Settings.load() == settings


@pytest.mark.airflow
def test_a_task_reads_variables_from_the_metadata_db_and_the_environment_over_the_settings(
        airflow_runner, monkeypatch, tmp_path):
    """Inside a task run by Airflow, ``settings_in_task`` takes an Airflow Variable of a setting's
    name over the environment: one stored in the metadata DB (listed by ``Variable.keys``, read
    through the execution API) and one only in ``AIRFLOW_VAR_<NAME>`` (a local backend, never
    listed); a setting with no Variable keeps its environment value."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db
    from airflow.models.variable import Variable as StoredVariable
    from airflow.sdk import DAG, task

    out = tmp_path / "settings.json"
    monkeypatch.setenv("UGC_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("UGC_MIN_ORDERS", "3")
    monkeypatch.setenv("UGC_MIN_SESSIONS", "11")
    monkeypatch.setenv("AIRFLOW_VAR_UGC_MIN_ORDERS", "7")

    with DAG("test_settings_in_task", schedule=None, start_date=datetime(2025, 1, 1, tzinfo=UTC)) as dag:
        @task
        def read_settings() -> None:
            from ugc_pipeline.airflow_support import settings_in_task

            s = settings_in_task()
            out.write_text(json.dumps({"timezone": s.timezone, "min_orders": s.min_orders,
                                       "min_sessions": s.min_sessions}))

        read_settings()

    # dag.test runs DAGs of the metadata DB: this one is written there as the DAG processor would
    bag = SimpleNamespace(dags={dag.dag_id: dag}, import_errors={}, bundle_path=None, dag_warnings=set())
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    StoredVariable.set("UGC_TIMEZONE", "America/New_York")
    try:
        run = dag.test()
    finally:
        StoredVariable.delete("UGC_TIMEZONE")  # the worker's Airflow home serves the next tests
    assert str(run.state) == "success"
    assert json.loads(out.read_text()) == {"timezone": "America/New_York", "min_orders": 7, "min_sessions": 11}
