"""SIGTERM and SIGINT stop ``ugc-pipeline run`` cleanly: the task under way finishes, no other
starts, the interrupted DAG run is marked failed in Airflow's metadata DB, the summary says
what ran and what did not, and the exit code is 128 + the signal (143, 130)."""

from __future__ import annotations

import signal
import sqlite3
import time

import duckdb
from ops_support import hold_duckdb, hold_run_lock
from ugc_pipeline.runner import RUN_LOCK_SUFFIX


def test_sigterm_stops_between_two_tasks_and_prints_the_summary(cli, ops_landing, tmp_path):
    """The signal arrives while a task runs (it waits for the DuckDB file another process holds,
    inside Airflow's task runner, whose SIGTERM handler only calls the operator's on_kill)."""
    wh = tmp_path / "wh.duckdb"
    run = cli("run", "--start", "2025-05-05", "--end", "2025-05-08", UGC_WAREHOUSE_URL=f"duckdb:///{wh}",
              UGC_LANDING_URI=str(ops_landing))
    run.wait_for("[1/4] delivery 2025-05-05: ugc_marts ...", timeout=180)
    run.wait_for("[2/4] delivery 2025-05-06: ugc_ingest ...", timeout=120)
    with hold_duckdb(wh) as holder:
        run.wait_for(f"the DuckDB warehouse {wh} is locked by PID {holder.pid}", timeout=60)  # inside a task
        run.send(signal.SIGTERM)
        sent = time.monotonic()
        time.sleep(1)
    # the task goes on once the file is free, finishes, and no other task starts
    assert run.wait(timeout=120) == 143, run.output
    assert time.monotonic() - sent < 60
    out = run.output
    assert "SIGTERM received: stopping (no further task starts)" in out
    assert "1/4 day(s) succeeded" in out
    assert "2025-05-06: ingest interrupted, marts not run; not started: " in out
    assert "not run: 2 day(s), 2025-05-07 to 2025-05-08" in out
    assert "Stopped early: interrupted by SIGTERM." in out
    assert "[3/4]" not in out and "Traceback" not in out and "No tasks to run" not in out

    # every task that started finished its run record: none is left "running"
    with duckdb.connect(str(wh), read_only=True) as conn:
        rows = conn.sql("select delivery_date::varchar, status, count(*) from audit.pipeline_runs "
                        "group by all order by all").fetchall()
    assert rows and all(status in ("success", "no_delivery") for _day, status, _n in rows), rows
    assert {day for day, _s, _n in rows} <= {"2025-05-05", "2025-05-06"}
    # Airflow's view: day 1 succeeded, day 2's run is failed (not left running), its rest skipped
    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as db:
        runs = db.execute("select dag_id, state from dag_run order by id").fetchall()
        states = db.execute("select ti.state, count(*) from task_instance ti join dag_run dr on ti.run_id = dr.run_id "
                            "and ti.dag_id = dr.dag_id where dr.dag_id = 'ugc_ingest' and dr.state = 'failed' "
                            "group by ti.state").fetchall()
    assert runs == [("ugc_ingest", "success"), ("ugc_marts", "success"), ("ugc_ingest", "failed")], runs
    assert "running" not in dict(states) and dict(states).get("skipped", 0) >= 1, states


def test_sigint_while_waiting_for_another_run_exits_130(cli, ops_landing, tmp_path):
    wh = tmp_path / "wh.duckdb"
    with hold_run_lock(wh.with_name(wh.name + RUN_LOCK_SUFFIX), f"the DuckDB warehouse {wh}"):
        run = cli("run", "--start", "2025-05-05", UGC_WAREHOUSE_URL=f"duckdb:///{wh}",
                  UGC_LANDING_URI=str(ops_landing), UGC_LOCK_WAIT_SECONDS="600")
        run.wait_for(f"Waiting for the DuckDB warehouse {wh}", timeout=60)
        run.send(signal.SIGINT)
        assert run.wait(timeout=30) == 130, run.output
    assert "Stopped: interrupted by SIGINT" in run.output
    assert "Traceback" not in run.output and "KeyboardInterrupt" not in run.output
