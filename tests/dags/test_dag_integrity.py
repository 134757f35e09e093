"""The DAG files: they import cleanly, stay cheap to parse, and are wired as documented."""

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronDataIntervalTimetable
from ugc_pipeline.airflow_support import delivery_date_for, delivery_days_for
from ugc_pipeline.marts_dag import BUILD_TASK_ID, DBT_LS_FILE, GROUP_ID, dbt_ls_fingerprint, project_fingerprint
from ugc_pipeline.settings import WAREHOUSE_POOL
from ugc_pipeline.sources import SOURCES
from ugc_pipeline.transform import DBT_PROJECT_DIR

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(dag_folder=str(DAGS_DIR))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"ugc_ingest", "ugc_marts", "ugc_replay_quarantine", "ugc_marts_deadline", "ugc_erase"}


@pytest.mark.parametrize("dag_id", ["ugc_ingest", "ugc_marts", "ugc_replay_quarantine", "ugc_marts_deadline", "ugc_erase"])
def test_dag_has_docs_tags_owner_and_retries(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and dag.doc_md.strip().startswith("###")
    assert "ugc" in dag.tags
    assert dag.default_args["owner"] == "data-engineering"
    assert dag.default_args["retries"] >= 1
    assert dag.max_active_runs == 1


def test_ingest_has_one_task_per_source_outside_the_pool(dagbag):
    dag = dagbag.dags["ugc_ingest"]
    ingest_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("ingest_")}
    assert ingest_tasks == {f"ingest_{name}" for name in SOURCES}
    # the sources parse and validate side by side: only their short warehouse sessions queue,
    # on DuckDB's file lock (tests/ops), not the whole task on the pool
    assert all(dag.get_task(t).pool != WAREHOUSE_POOL for t in ingest_tasks)
    assert dag.get_task("publish_staging").pool == WAREHOUSE_POOL
    publish = dag.get_task("publish_staging")
    assert publish.upstream_task_ids == ingest_tasks | {"check_pool"}  # staging waits for every source
    # the business snapshots load before the sources checked against them
    assert dag.get_task("ingest_yotpo_reviews").upstream_task_ids == {
        f"ingest_{n}" for n, s in SOURCES.items() if s.is_reference}
    assert dag.get_task("ingest_products").upstream_task_ids == set()
    assert [a.uri for a in publish.outlets] == ["ugc://warehouse/staging"]
    docs = dag.get_task("data_docs")  # GX Data Docs once per run, failed sources included
    assert docs.upstream_task_ids == ingest_tasks and docs.trigger_rule == "all_done"
    assert docs.pool != WAREHOUSE_POOL
    assert all([a.uri for a in dag.get_task(t).outlets] == ["ugc://warehouse/raw"] for t in ingest_tasks)
    check = dag.get_task("check_deliveries")  # judges every day, failed sources included
    assert check.upstream_task_ids == ingest_tasks and check.trigger_rule == "all_done"


def test_every_task_of_every_dag_has_a_timeout_and_the_failure_notifier(dagbag):
    """Nothing runs forever and nothing fails unseen: every task (the Cosmos model tasks too)
    has an execution timeout and alerts through the failure notifier."""
    from ugc_pipeline.alerts import FailureNotifier

    tasks = [(dag_id, t) for dag_id, dag in dagbag.dags.items() for t in dag.tasks]
    assert len(tasks) > 50
    for dag_id, task in tasks:
        assert task.execution_timeout is not None and task.execution_timeout.total_seconds() > 0, (dag_id, task.task_id)
        callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
        assert any(isinstance(c, FailureNotifier) for c in callbacks), (dag_id, task.task_id)
    assert dagbag.dags["ugc_ingest"].get_task("ingest_yotpo_reviews").execution_timeout.total_seconds() == 180 * 60


def test_the_task_timeout_and_the_marts_deadline_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UGC_TASK_TIMEOUT_MINUTES", "45")
    monkeypatch.setenv("UGC_MARTS_DEADLINE", "6:30")
    monkeypatch.setenv("UGC_TIMEZONE", "America/New_York")
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert bag.dags["ugc_marts"].get_task(BUILD_TASK_ID).execution_timeout.total_seconds() == 45 * 60
    deadline = bag.dags["ugc_marts_deadline"]
    assert deadline.timetable.expression == "30 6 * * *"
    assert str(deadline.timetable.timezone) in ("America/New_York", "Timezone('America/New_York')")
    check = deadline.get_task("check_marts_refreshed")
    assert [a.uri for a in check.inlets] == ["ugc://warehouse/marts"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("UGC_MARTS_DEADLINE", "7h", "UGC_MARTS_DEADLINE='7h' is not a local time HH:MM"),
    ("UGC_TASK_TIMEOUT_MINUTES", "0", "UGC_TASK_TIMEOUT_MINUTES='0' is not a whole number of minutes"),
])
def test_a_bad_operating_setting_is_a_clear_import_error(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors and all(message in e for e in bag.import_errors.values()), bag.import_errors


@pytest.mark.parametrize("dag_id", ["ugc_ingest", "ugc_marts", "ugc_replay_quarantine", "ugc_erase"])
def test_a_missing_pool_fails_the_run_at_its_start(dagbag, dag_id):
    """Every task that takes the warehouse pool waits for ``check_pool``, which takes no pool, has
    no upstream (it runs at the run's start) and no retry (a missing pool fails at once)."""
    dag = dagbag.dags[dag_id]
    check = dag.get_task("check_pool")
    assert check.pool != WAREHOUSE_POOL and check.upstream_task_ids == set() and check.retries == 0
    pooled = [t for t in dag.tasks if t.pool == WAREHOUSE_POOL]
    assert pooled
    for task in pooled:
        assert "check_pool" in task.get_flat_relative_ids(upstream=True), task.task_id


def test_pulled_sources_get_a_pull_task_before_their_load(monkeypatch):
    """UGC_PULL_SOURCES shapes the DAG: a pull task (outside the warehouse pool: it only writes
    the landing zone) before each pulled source's load; a dropped source has none."""
    monkeypatch.setenv("UGC_PULL_SOURCES", "yotpo_reviews,retailer_reviews")
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    dag = bag.dags["ugc_ingest"]
    pulls = {t.task_id for t in dag.tasks if t.task_id.startswith("pull_")}
    assert pulls == {"pull_yotpo_reviews", "pull_retailer_reviews"}
    for name in ("yotpo_reviews", "retailer_reviews"):
        pull, load = dag.get_task(f"pull_{name}"), dag.get_task(f"ingest_{name}")
        assert pull.pool != WAREHOUSE_POOL and pull.upstream_task_ids == set()
        assert f"pull_{name}" in load.upstream_task_ids
        assert load.trigger_rule == "all_done"  # it records a failed pull before failing
    assert not any(u.startswith("pull_") for u in dag.get_task("ingest_instagram_media").upstream_task_ids)
    assert dag.params["force_pull"] is False


def test_an_unknown_pulled_source_is_a_clear_import_error(monkeypatch):
    monkeypatch.setenv("UGC_PULL_SOURCES", "yotpo_reviews,products")
    bag = DagBag(dag_folder=str(DAGS_DIR))
    [error] = [e for f, e in bag.import_errors.items() if f.endswith("ugc_ingest.py")]
    assert "UGC_PULL_SOURCES: products cannot be pulled" in error


def test_ingest_runs_daily_in_the_kpi_timezone(dagbag):
    timetable = dagbag.dags["ugc_ingest"].timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert timetable.expression == "0 0 * * *"
    assert str(timetable.timezone) in ("Europe/Paris", "Timezone('Europe/Paris')")


def test_marts_dag_is_scheduled_on_the_layer_assets(dagbag):
    dag = dagbag.dags["ugc_marts"]
    condition = dag.timetable.asset_condition  # AssetAll: both layers must have been updated
    assert type(condition).__name__ == "AssetAll"
    uris = {a.uri for a in condition.objects}
    assert uris == {"ugc://warehouse/raw", "ugc://warehouse/staging"}
    assert [a.uri for a in dag.get_task("summarise").outlets] == ["ugc://warehouse/marts"]


def test_marts_dag_has_one_task_per_dbt_model_in_dbt_order(dagbag):
    """Cosmos renders the dbt project (the committed ``dbt ls`` output): one task per model, each
    downstream of the tasks of the models it refs, all after the one ``dbt_build``."""
    dag = dagbag.dags["ugc_marts"]
    nodes = {n["unique_id"]: n for n in (json.loads(line) for line in DBT_LS_FILE.read_text().splitlines()
                                        if line.startswith("{"))}
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    models_on_disk = {p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")}
    assert {n["name"] for n in models.values()} == models_on_disk
    task_of = {uid: f"{GROUP_ID}.{n['name']}_model_build" for uid, n in models.items()}
    group = {t.task_id for t in dag.tasks if t.task_id.startswith(f"{GROUP_ID}.")}
    assert group == set(task_of.values())
    for uid, task_id in task_of.items():
        task = dag.get_task(task_id)
        parents = {task_of[p] for p in models[uid]["depends_on"]["nodes"] if p in task_of}
        assert task.upstream_task_ids == (parents or {BUILD_TASK_ID}), task_id
        assert task.op_kwargs["unique_id"] == uid
    assert dag.get_task(BUILD_TASK_ID).pool == WAREHOUSE_POOL
    referenced = {p for n in models.values() for p in n["depends_on"]["nodes"]}
    # after the last models: the read-only copy for readers (one writer: the pool), then the
    # summary (the marts asset) and the HTML report, which reads that copy
    publish = dag.get_task("publish_readonly_copy")
    assert publish.upstream_task_ids == {task_of[uid] for uid in models if uid not in referenced}
    assert publish.pool == WAREHOUSE_POOL
    assert publish.downstream_task_ids == {"summarise", "write_report"}
    assert dag.get_task("write_report").pool != WAREHOUSE_POOL


def test_the_committed_dbt_ls_output_is_the_projects():
    assert dbt_ls_fingerprint() == project_fingerprint(), (
        "sql/dbt_ls.json was made from another version of the dbt project: run make docs and commit it")


def test_parsing_a_dag_file_imports_no_heavy_module():
    """Parsing must stay cheap: no pandas, DuckDB, GX or warehouse driver at module level."""
    code = textwrap.dedent(f"""
        import importlib.util, sys
        for name in ("ugc_ingest", "ugc_marts", "ugc_replay_quarantine", "ugc_marts_deadline", "ugc_erase"):
            spec = importlib.util.spec_from_file_location(name, {str(DAGS_DIR)!r} + "/" + name + ".py")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        heavy = [m for m in ("pandas", "duckdb", "great_expectations", "psycopg", "pyarrow")
                 if m in sys.modules]
        print("HEAVY=" + ",".join(heavy))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("HEAVY=")]  # (logs go to stdout too)
    assert line == "HEAVY="


# -- which day a run processes ------------------------------------------------------------------

def test_delivery_date_param_wins():
    ctx = {"params": {"delivery_date": "2025-05-06"}, "logical_date": datetime(2025, 1, 1, tzinfo=UTC)}
    assert delivery_date_for(ctx, "Europe/Paris") == date(2025, 5, 6)


def test_scheduled_run_processes_its_local_day():
    # The interval of day 2025-05-06 in Paris starts at 2025-05-05T22:00Z.
    ctx = {"params": {}, "logical_date": datetime(2025, 5, 5, 22, 0, tzinfo=UTC)}
    assert delivery_date_for(ctx, "Europe/Paris") == date(2025, 5, 6)


def test_manual_run_without_logical_date_processes_the_last_complete_day():
    run = SimpleNamespace(run_after=datetime(2025, 5, 6, 23, 30, tzinfo=UTC))  # 05-07 01:30 Paris
    ctx = {"params": {"delivery_date": None}, "logical_date": None, "dag_run": run}
    assert delivery_date_for(ctx, "Europe/Paris") == date(2025, 5, 6)


def test_a_backfill_run_processes_every_day_of_its_range_in_order():
    ctx = {"params": {"delivery_date": "2025-02-27", "through_date": "2025-03-02"}, "logical_date": None}
    assert delivery_days_for(ctx, "Europe/Paris") == [date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1),
                                                      date(2025, 3, 2)]
    ctx["params"] = {"delivery_date": "2025-05-06", "through_date": None}
    assert delivery_days_for(ctx, "Europe/Paris") == [date(2025, 5, 6)]
    with pytest.raises(ValueError, match="through_date 2025-05-01 is before delivery_date 2025-05-06"):
        delivery_days_for({"params": {"delivery_date": "2025-05-06", "through_date": "2025-05-01"}}, "UTC")
    with pytest.raises(ValueError, match="through_date needs delivery_date"):
        delivery_days_for({"params": {"through_date": "2025-05-01"}}, "UTC")


@pytest.mark.parametrize("url", ["duckdb:///{tmp}/wh.duckdb",
                                 "postgresql+psycopg://ugc:s3cret@db.example:5433/ugc?sslmode=require"])
def test_the_cosmos_profile_is_the_pipelines_dbt_target(url, tmp_path, monkeypatch):
    """The DAG's Cosmos profile mapping gives dbt the target ``transform`` writes for its own runs,
    the password through the environment only."""
    from ugc_pipeline.marts_dag import _profile_mapping_class
    from ugc_pipeline.transform import profile_for

    url = url.format(tmp=tmp_path)
    monkeypatch.setenv("UGC_WAREHOUSE_URL", url)
    mapping = _profile_mapping_class()()
    target, env = profile_for(url)
    assert mapping.profile == target
    assert "s3cret" not in json.dumps(mapping.profile)
    assert {k: v for k, v in mapping.env_vars.items() if k in env} == env
    assert mapping.env_vars["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"


def test_the_task_preload_module_imports_what_the_tasks_need():
    """The fork server of the LocalExecutor ignores a preload module that fails to import (the
    tasks would silently import everything again): it must import, and bring the heavy modules,
    and what every task process imports before it runs: Cosmos' UI plugin's FastAPI, Airflow's
    DAG bag (the task runner parses the DAG file with it), the Cosmos profiles."""
    code = ("import sys, ugc_pipeline.task_preload; "
            "print('MISSING=' + ','.join(m for m in ('great_expectations', 'pandas', 'duckdb', 'dbt.cli.main', 'cosmos', "
            "'ugc_pipeline.pipeline', 'ugc_pipeline.validation', 'fastapi', 'airflow.dag_processing.dagbag', "
            "'cosmos.profiles', 'airflow.sdk.definitions.decorators') if m not in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert [x for x in done.stdout.splitlines() if x.startswith("MISSING=")] == ["MISSING="]


def test_the_erase_dag_is_manual_takes_one_person_and_holds_the_warehouse(dagbag):
    dag = dagbag.dags["ugc_erase"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual only
    assert {"id", "email", "handle", "name", "dry_run"} <= set(dag.params.keys())
    erase = dag.get_task("erase")
    assert erase.pool == WAREHOUSE_POOL  # it deletes, then rebuilds the marts
    assert [a.uri for a in erase.outlets] == ["ugc://warehouse/marts"]


@pytest.mark.parametrize("dag_id", ["ugc_ingest", "ugc_marts", "ugc_replay_quarantine", "ugc_marts_deadline", "ugc_erase"])
def test_a_task_returning_a_dict_pushes_it_as_one_xcom(dagbag, dag_id):
    """A ``@task`` annotated ``-> dict`` would push every key as an XCom of its own besides the
    whole dict (Airflow infers ``multiple_outputs``): one request to the API server per key, and
    ``dbt_build``'s every node outcome twice. Nothing reads them by key."""
    pushing = [t.task_id for t in dagbag.dags[dag_id].tasks if getattr(t, "multiple_outputs", False)]
    assert pushing == []
