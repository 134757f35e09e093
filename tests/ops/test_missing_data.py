"""Empty and missing data are visible, through Airflow: a daily ``ugc_ingest`` run on a day when no
source delivered anything (one source's delivery folder exists but is empty) is not a green run
that rebuilt the marts: every source task succeeds with a ``no_delivery`` record (the empty folder
with its warning), ``publish_staging`` is skipped (no staging asset, so no marts run), and
``check_deliveries`` fails, naming the day and the required source, and alerts the team."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest
from support.alert_receivers import alert_connections, webhook_server
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES

DAY = date(2025, 5, 6)


@pytest.mark.airflow
def test_a_day_without_any_delivery_fails_its_check_publishes_nothing_and_alerts(airflow_runner, tmp_path,
                                                                                  monkeypatch):
    landing = tmp_path / "landing"
    (landing / "yotpo_reviews" / DAY.isoformat()).mkdir(parents=True)  # exists, holds no file
    settings = Settings(landing_uri=str(landing), warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}",
                        source_checks=json.dumps({"yotpo_reviews": {"required": True}}))
    with webhook_server() as hook:
        for name, value in alert_connections(None, hook).items():
            monkeypatch.setenv(name, value)
        progress: list[str] = []
        [day] = airflow_runner.run_days([DAY], settings, progress=progress.append)

    assert (day.ingest_state, day.marts_state, day.failed_tasks) == ("failed", None, ["check_deliveries"])
    assert any(line.strip().startswith(f"check_deliveries: no source delivered anything for {DAY}") for line in progress)
    states = _task_states(day_run_id := _latest_run_id("ugc_ingest"))
    assert {states[f"ingest_{n}"] for n in SOURCES} == {"success"}  # the empty folder fails nothing
    assert states["publish_staging"] == "skipped" and states["check_deliveries"] == "failed"
    # no staging asset (ugc_marts waits for raw AND staging): the marts are not rebuilt
    assert "ugc://warehouse/staging" not in _asset_events(day_run_id)

    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as db:
        runs = dict(db.sql("select source, status || ' | ' || message from audit.pipeline_runs").fetchall())
    assert set(runs) == set(SOURCES) and all(r.startswith("no_delivery") for r in runs.values())
    assert f"warning: yotpo_reviews/{DAY}/: the delivery folder exists but holds no file" in runs["yotpo_reviews"]

    [post] = hook.posts
    alert = post.json()
    assert (alert["dag_id"], alert["task_id"], alert["run_id"]) == ("ugc_ingest", "check_deliveries", day_run_id)
    assert alert["error"].startswith(f"deliveries of {DAY}: no source delivered anything for {DAY} (14 sources")
    assert f"yotpo_reviews is required and has never delivered (no delivery up to {DAY})" in alert["error"]


def _latest_run_id(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(select(DagRun.run_id).where(DagRun.dag_id == dag_id)
                               .order_by(DagRun.id.desc()).limit(1)).one()


def _task_states(run_id: str) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == "ugc_ingest", TaskInstance.run_id == run_id)).all()
    return {task_id: str(state) for task_id, state in rows}


def _asset_events(run_id: str) -> list[str]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(session.scalars(select(AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
                                    .where(AssetEvent.source_run_id == run_id)))
