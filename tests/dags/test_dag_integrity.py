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
    assert set(dagbag.dag_ids) == {"ugc_ingest", "ugc_marts", "ugc_replay_quarantine"}


@pytest.mark.parametrize("dag_id", ["ugc_ingest", "ugc_marts", "ugc_replay_quarantine"])
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
    assert publish.upstream_task_ids == ingest_tasks  # staging waits for every source
    # the business snapshots load before the sources checked against them
    assert dag.get_task("ingest_yotpo_reviews").upstream_task_ids == {
        f"ingest_{n}" for n, s in SOURCES.items() if s.is_reference}
    assert dag.get_task("ingest_products").upstream_task_ids == set()
    assert [a.uri for a in publish.outlets] == ["ugc://warehouse/staging"]
    docs = dag.get_task("data_docs")  # GX Data Docs once per run, failed sources included
    assert docs.upstream_task_ids == ingest_tasks and docs.trigger_rule == "all_done"
    assert docs.pool != WAREHOUSE_POOL
    assert all([a.uri for a in dag.get_task(t).outlets] == ["ugc://warehouse/raw"] for t in ingest_tasks)


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
        for name in ("ugc_ingest", "ugc_marts", "ugc_replay_quarantine"):
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
    tasks would silently import everything again): it must import, and bring the heavy modules."""
    code = ("import sys, ugc_pipeline.task_preload; "
            "print('MISSING=' + ','.join(m for m in ('great_expectations', 'pandas', 'duckdb', 'dbt.cli.main', 'cosmos', "
            "'ugc_pipeline.pipeline', 'ugc_pipeline.validation') if m not in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert [x for x in done.stdout.splitlines() if x.startswith("MISSING=")] == ["MISSING="]
