"""Two ``ugc-pipeline run`` at once on one DuckDB warehouse (or one Airflow home): the second
waits for the first (bounded by UGC_LOCK_WAIT_SECONDS, saying so) or, told not to wait,
refuses at once with a clear message; runs of the same day never collide in Airflow's metadata
DB, and no run record is lost. Connections that find the DuckDB file locked by another process
wait for it instead of failing the task."""

from __future__ import annotations

import logging
import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import duckdb
import pytest
from ops_support import hold_duckdb, hold_run_lock
from ugc_pipeline import warehouse
from ugc_pipeline.runner import RUN_LOCK_SUFFIX

DAY = "2025-05-05"


def _run_records(path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.sql("select run_id, source, status from audit.pipeline_runs order by run_id, source").fetchall()


def test_two_runs_of_the_same_day_on_one_duckdb_warehouse(cli, ops_landing, tmp_path):
    """The second run waits for the first, then runs; both succeed; every task of both wrote its
    run record; nothing failed on DuckDB's file lock or in the metadata DB."""
    wh = tmp_path / "wh.duckdb"
    env = {"UGC_WAREHOUSE_URL": f"duckdb:///{wh}", "UGC_LANDING_URI": str(ops_landing)}
    first = cli("run", "--start", DAY, **env)
    first.wait_for(f"[1/1] delivery {DAY}: ugc_ingest ...")
    second = cli("run", "--start", DAY, UGC_LOCK_WAIT_SECONDS="300", **env)

    second.wait_for(f"Waiting for the DuckDB warehouse {wh}: another ugc-pipeline run holds it "
                    f"(PID {first.pid}, `ugc-pipeline run --start {DAY}`, since ", timeout=60)
    assert first.wait() == 0, first.output
    assert second.wait() == 0, second.output

    for run in (first, second):
        assert "1/1 day(s) succeeded" in run.output
        for trouble in ("Traceback", "FOREIGN KEY", "Could not set lock", "No tasks to run", "FAILED"):
            assert trouble not in run.output, (trouble, run.output[-3000:])
    # the second started its day only once the first had finished it
    assert second.output.index("Waiting for the DuckDB warehouse") < second.output.index(f"[1/1] delivery {DAY}")
    records = _run_records(wh)
    runs = sorted({r[0] for r in records})
    assert len(runs) == 2, runs
    for run_id in runs:
        rows = [r for r in records if r[0] == run_id]
        assert len(rows) == 14 and {r[2] for r in rows} <= {"success", "no_delivery"}, rows


def test_told_not_to_wait_a_run_refuses_at_once(cli, ops_landing, tmp_path):
    wh = tmp_path / "wh.duckdb"
    lock = wh.with_name(wh.name + RUN_LOCK_SUFFIX)
    with hold_run_lock(lock, f"the DuckDB warehouse {wh}") as holder:
        run = cli("run", "--start", DAY, UGC_WAREHOUSE_URL=f"duckdb:///{wh}", UGC_LANDING_URI=str(ops_landing),
                  UGC_LOCK_WAIT_SECONDS="0")
        assert run.wait(timeout=60) == 75
    assert re.search(rf"error: the DuckDB warehouse {re.escape(str(wh))} is in use by another ugc-pipeline run "
                     rf"\(PID {holder.pid}, `ugc-pipeline[^`]*`, since [0-9-]+ [0-9:]+ UTC\); not waiting "
                     r"\(UGC_LOCK_WAIT_SECONDS\); nothing was run", run.output), run.output
    assert "[1/" not in run.output and "Traceback" not in run.output


def test_runs_sharing_an_airflow_home_wait_for_each_other(cli, ops_landing, tmp_path):
    """Two warehouses, one Airflow home: its metadata DB is what ``dag.test`` runs of the same day
    collide in (a run replaces the other's), so the home is held too; the wait is bounded."""
    home = tmp_path / "airflow"
    with hold_run_lock(home / ("ugc-pipeline" + RUN_LOCK_SUFFIX), f"the Airflow home {home}") as holder:
        run = cli("run", "--start", DAY, UGC_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'other.duckdb'}",
                  UGC_LANDING_URI=str(ops_landing), UGC_LOCK_WAIT_SECONDS="2")
        assert run.wait(timeout=60) == 75
    out = run.output
    assert f"Waiting for the Airflow home {home}: another ugc-pipeline run holds it (PID {holder.pid}" in out
    assert f"error: the Airflow home {home} is in use by another ugc-pipeline run (PID {holder.pid}" in out
    assert "gave up after 2 s (UGC_LOCK_WAIT_SECONDS); nothing was run" in out
    assert "[1/" not in out and "Traceback" not in out


def test_a_connection_waits_for_the_duckdb_file_another_process_holds(tmp_path, caplog):
    wh = tmp_path / "wh.duckdb"
    duckdb.connect(str(wh)).close()
    engine = warehouse.create_warehouse_engine(f"duckdb:///{wh}", lock_wait=60)
    caplog.set_level(logging.WARNING, logger="ugc_pipeline.warehouse")

    with hold_duckdb(wh, seconds=1.5) as holder:
        t0 = time.monotonic()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select 42").scalar() == 42
        waited = time.monotonic() - t0

    assert 0.5 < waited < 30
    assert f"the DuckDB warehouse {wh} is locked by PID {holder.pid}" in caplog.text
    assert "waiting up to 60 s for it (UGC_LOCK_WAIT_SECONDS)" in caplog.text
    assert "is free again after" in caplog.text


def test_a_connection_gives_up_on_a_duckdb_file_held_too_long(tmp_path, monkeypatch):
    wh = tmp_path / "wh.duckdb"
    duckdb.connect(str(wh)).close()
    monkeypatch.setenv("UGC_LOCK_WAIT_SECONDS", "1")  # what the runner exports for the tasks
    engine = warehouse.create_warehouse_engine(f"duckdb:///{wh}")

    with hold_duckdb(wh) as holder:
        t0 = time.monotonic()
        with pytest.raises(warehouse.WarehouseUnavailable, match=rf"is locked by PID {holder.pid} .*; gave up "
                                                                r"after 1 s \(UGC_LOCK_WAIT_SECONDS\)"):
            engine.connect()
        assert time.monotonic() - t0 < 10


def test_a_duckdb_file_held_by_another_program_stops_the_run_before_the_first_day(cli, ops_landing, tmp_path):
    wh = tmp_path / "wh.duckdb"
    with hold_duckdb(wh) as holder:
        run = cli("run", "--start", DAY, UGC_WAREHOUSE_URL=f"duckdb:///{wh}", UGC_LANDING_URI=str(ops_landing),
                  UGC_LOCK_WAIT_SECONDS="1")
        assert run.wait(timeout=60) == 75
    assert (f"error: the DuckDB warehouse {wh} is locked by PID {holder.pid}" in run.output
            and "gave up after 1 s (UGC_LOCK_WAIT_SECONDS); nothing was run" in run.output), run.output


def test_a_task_that_cannot_open_the_duckdb_file_fails_its_day_without_retry_waits(cli, ops_landing, tmp_path):
    """Another program takes the DuckDB file after the check before the first day and keeps it:
    each task waits UGC_LOCK_WAIT_SECONDS, then fails (no 5-minute retry, no "No tasks to run"
    loop); the run stops after that day, saying why."""
    wh = tmp_path / "wh.duckdb"
    run = cli("run", "--start", DAY, "--end", "2025-05-06", UGC_WAREHOUSE_URL=f"duckdb:///{wh}",
              UGC_LANDING_URI=str(ops_landing), UGC_LOCK_WAIT_SECONDS="1")
    run.wait_for(f"[1/2] delivery {DAY}: ugc_ingest ...")
    with hold_duckdb(wh) as holder:
        assert run.wait(timeout=180) == 1
    out = run.output
    assert time.monotonic() - run.started < 150, out[-3000:]
    assert f"WarehouseUnavailable: the DuckDB warehouse {wh} is locked by PID {holder.pid}" in out
    assert "FAILED tasks: " in out
    assert f"stopping: the DuckDB warehouse {wh} is locked by PID {holder.pid}" in out
    assert "0/2 day(s) succeeded" in out and "not run: 1 day(s), 2025-05-06 to 2025-05-06" in out
    assert "No tasks to run" not in out and "up_for_retry" not in out.lower() and "[2/2]" not in out


def _raw_rows(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [t for (t,) in conn.sql("select table_name from duckdb_tables() where schema_name = 'raw' "
                                         "order by table_name").fetchall()]
        return {t: conn.sql(f"select * exclude (run_id, loaded_at) from raw.{t} order by all").fetchall()
                for t in tables}


def test_source_tasks_load_side_by_side_into_one_duckdb_file(ops_landing, tmp_path):
    """The ingest tasks take no pool slot: several sources' loads run at once as separate
    processes on one DuckDB file, each waiting for the file only while another writes; every one
    succeeds and raw holds exactly what loading them one after another gives."""
    from ugc_pipeline.pipeline import ingest_source
    from ugc_pipeline.settings import Settings
    from ugc_pipeline.sources import SOURCES

    day = date.fromisoformat(DAY)
    others = [n for n, s in SOURCES.items() if not s.is_reference]
    loaded = {}
    for name, parallel in (("one_by_one", False), ("side_by_side", True)):
        wh = tmp_path / f"{name}.duckdb"
        settings = Settings(landing_uri=str(ops_landing), warehouse_url=f"duckdb:///{wh}", timezone="Europe/Paris")
        for ref in (n for n, s in SOURCES.items() if s.is_reference):
            ingest_source(ref, day, settings, "refs")
        if parallel:  # forked, as Airflow starts its task processes (GX already imported)
            import great_expectations  # noqa: F401

            with ProcessPoolExecutor(len(others), mp_context=multiprocessing.get_context("fork")) as pool:
                statuses = [r.status for r in pool.map(ingest_source, others, [day] * len(others),
                                                       [settings] * len(others), ["day"] * len(others))]
            assert set(statuses) <= {"success", "no_delivery"} and "success" in statuses
        else:
            for source in others:
                ingest_source(source, day, settings, "day")
        loaded[name] = _raw_rows(wh)
    assert loaded["side_by_side"] == loaded["one_by_one"]
    assert sum(len(rows) for rows in loaded["one_by_one"].values()) > 0


def test_the_dbt_build_waits_for_a_duckdb_file_another_process_holds(tmp_path, monkeypatch):
    """dbt-duckdb opens the warehouse once for the whole build: when an ingest task is writing at
    that moment, the build waits for the file (its connect retries) instead of failing."""
    from ugc_pipeline import transform

    wh = tmp_path / "wh.duckdb"
    monkeypatch.setenv("UGC_LOCK_WAIT_SECONDS", "60")
    url = f"duckdb:///{wh}"
    warehouse.ensure_warehouse(warehouse.create_warehouse_engine(url))
    transform.run_dbt(url, ["ls"], timezone="Europe/Paris")  # dbt imported and the project parsed
    with hold_duckdb(wh, seconds=2.5):  # taken before dbt opens the file
        run = transform.run_dbt(url, ["run", "--select", "stg_brand__products"], timezone="Europe/Paris",
                                raise_on_failure=False)
    assert run.success, run.failed()
    assert run.nodes["model.ugc_kpi.stg_brand__products"][0] == "success"
