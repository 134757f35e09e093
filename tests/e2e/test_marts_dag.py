"""The ``ugc_marts`` DAG through Airflow (``dag.test``): the dbt project rendered by Cosmos, one
task per model, dbt run once by ``dbt_build``; a model that fails there fails its own task, the
marts keep their rows, and the task's retry builds the model again with what depends on it; a
model's task reads ``dbt_build``'s outcome alone only when no upstream retry can have rebuilt."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from support.runs import copy_run, diff_snapshots, mart_tables, snapshot
from ugc_pipeline.marts_dag import BUILD_TASK_ID, GROUP_ID

CAMPAIGNS_TASK = f"{GROUP_ID}.int_brand__campaigns_current_model_build"
# the latest campaign snapshot twice for one campaign: int_brand__campaigns_current's
# unique(campaign_id) test fails, and dbt skips everything built on it (every mart)
DUPLICATE_CAMPAIGN = """
    insert into raw.campaigns
    select * replace (record_number + 100000 as record_number) from raw.campaigns
    where delivery_date = (select max(delivery_date) from raw.campaigns)
    order by record_number limit 1"""
REMOVE_DUPLICATE = "delete from raw.campaigns where record_number > 100000"


def _task_states(dag_run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}


def _with_a_duplicated_campaign(airflow_runner, reference, tmp_path, label: str):
    """A copy of the reference warehouse whose raw layer fails a dbt test, set up for the DAGs;
    (the copy, its mart tables, their rows before the marts run)."""
    run = copy_run(reference, tmp_path, label)
    marts = mart_tables(run)
    before = snapshot(run, marts)
    with run.engine.begin() as conn:
        conn.execute(text(DUPLICATE_CAMPAIGN))
    airflow_runner.export_settings(run.settings)
    airflow_runner.ensure_pool(run.settings)
    return run, marts, before


def test_a_failed_model_fails_its_task_keeps_the_marts_and_its_retry_rebuilds_it(
        airflow_runner, direct_runs, tmp_path):
    run, marts, expected = _with_a_duplicated_campaign(airflow_runner, direct_runs["forward"], tmp_path, "marts_dag")
    dag = airflow_runner.load_dags()["ugc_marts"]
    for task in dag.tasks:
        task.retries = 0
    seen_at_retry: list[list[str]] = []

    def fix_the_data_before_the_retry(context):
        # what an engineer does between the failure and the retry: the marts are still the old ones
        seen_at_retry.append(diff_snapshots(expected, snapshot(run, marts)))
        with run.engine.begin() as conn:
            conn.execute(text(REMOVE_DUPLICATE))

    failing = dag.get_task(CAMPAIGNS_TASK)
    failing.retries, failing.retry_delay = 1, timedelta(0)
    failing.on_retry_callback = [fix_the_data_before_the_retry]

    dag_run = dag.test(logical_date=None)

    states = _task_states(dag_run)
    assert seen_at_retry == [[]], "the failed build changed the marts"
    assert states[CAMPAIGNS_TASK] == ("success", 2)  # failed in dbt_build, rebuilt by its retry
    assert states[BUILD_TASK_ID][0] == "success"  # a failed node fails its own task, not dbt_build
    model_tasks = [t for t in states if t.startswith(f"{GROUP_ID}.")]
    assert len(model_tasks) == 39  # 33 + the analyst marts (issue #11): 5 marts, 1 intermediate view
    assert {states[t][0] for t in model_tasks} == {"success"}, states
    assert states["summarise"][0] == "success" and str(dag_run.state) == "success"
    assert diff_snapshots(expected, snapshot(run, marts)) == []
    # the marts' tasks report the retry's rebuild, not dbt_build's skip
    ti = dag_run.get_task_instance(f"{GROUP_ID}.sales_uplift_model_build")
    report = ti.xcom_pull(task_ids=ti.task_id)
    assert "model.ugc_kpi.sales_uplift: success" in report and "skipped" not in report, report


def test_a_model_that_fails_again_fails_its_task_and_nothing_downstream_runs(airflow_runner, direct_runs, tmp_path):
    run, marts, before = _with_a_duplicated_campaign(airflow_runner, direct_runs["forward"], tmp_path,
                                                     "marts_dag_fails")

    assert airflow_runner.run_marts_once(progress=lambda _m: None) == "failed"

    states = _latest_states("ugc_marts")
    assert states[CAMPAIGNS_TASK][0] == "failed"
    assert states[f"{GROUP_ID}.stg_brand__campaigns_model_build"][0] == "success"
    assert states[f"{GROUP_ID}.sales_uplift_model_build"][0] == "upstream_failed"
    assert states["summarise"][0] == "upstream_failed"
    assert diff_snapshots(before, snapshot(run, marts)) == []


def _latest_states(dag_id: str) -> dict[str, tuple[str, int]]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)
                                  .order_by(DagRun.id.desc()).limit(1)).one()
        return {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances(session=session)}


def test_a_node_task_reads_dbt_build_alone_only_when_no_upstream_task_can_have_rebuilt(airflow_runner):
    """``report_node`` pulls ``dbt_build``'s outcome alone (not every upstream task's XCom) when
    the node and every node upstream of it were built there, all passing; else all of them, since
    an upstream retry's rebuild may be the newest outcome of the node."""
    from ugc_pipeline.marts_dag import _no_rebuild_upstream, _node_ids, latest_outcome, node_outcome

    dag = airflow_runner.load_dags()["ugc_marts"]
    task = dag.get_task(f"{GROUP_ID}.sales_uplift_model_build")
    upstream = _node_ids(dag, sorted(task.get_flat_relative_ids(upstream=True)))
    # the node tasks upstream of the mart, as dbt nodes; check_pool and dbt_build are no node tasks
    assert "model.ugc_kpi.int_brand__campaigns_current" in upstream and len(upstream) == len(set(upstream)) >= 5
    assert all(uid.startswith(("model.", "test.")) for uid in upstream)
    mine = ["model.ugc_kpi.sales_uplift", *upstream]

    def node(status, parents=()):
        return {"status": status, "rows": None, "message": "", "parents": list(parents)}

    built = {"success": True, "finished": 2.0, "nodes": {uid: node("success") for uid in mine}}
    built["nodes"]["test.ugc_kpi.unique_sales_uplift_campaign_id"] = node("pass", ["model.ugc_kpi.sales_uplift"])
    assert _no_rebuild_upstream(built, mine)
    # an older rebuild (dbt_build cleared and run again since) changes nothing: the newer build wins
    older = {"success": False, "finished": 1.0, "nodes": {uid: node("error") for uid in mine}}
    assert (node_outcome(latest_outcome([built, older]), mine[0]) == node_outcome(latest_outcome([built]), mine[0])
            == (True, ["model.ugc_kpi.sales_uplift: success", "test.ugc_kpi.unique_sales_uplift_campaign_id: pass"]))
    # anything else: every upstream XCom is pulled
    failed_elsewhere = {**built, "nodes": {**built["nodes"], "model.ugc_kpi.other": node("error")}}
    assert not _no_rebuild_upstream(failed_elsewhere, mine)
    assert not _no_rebuild_upstream({**built, "success": False}, mine)
    slim = {**built, "nodes": {uid: n for uid, n in built["nodes"].items() if uid != upstream[0]}}
    assert not _no_rebuild_upstream(slim, mine)  # an upstream view not built again
    assert not _no_rebuild_upstream(None, mine) and not _no_rebuild_upstream("a report", mine)
