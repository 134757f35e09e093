"""The DAGs under CeleryExecutor: ``scripts/celery-local`` runs one daily ``ugc_ingest`` run and
the asset-triggered ``ugc_marts`` run end to end with two real Celery workers, the Redis broker
and PostgreSQL (metadata DB, result backend, warehouse) on 127.0.0.1.

Checked: both runs succeed; the source tasks ran on both workers; the marts equal those of the
same delivery day processed without Airflow (into DuckDB), so the workers' tasks and dbt wrote the
warehouse of the Airflow connection ``ugc_warehouse`` the script gives them (``UGC_WAREHOUSE_URL``
is a decoy there); the script leaves no process, database or Redis key behind.

The delivery day is the first of the hand-made landing zone of tests/e2e (``support.landing_builder``):
the business snapshots, 28 days of web and store history and three Yotpo reviews, every source's
task running (the others record 'no_delivery'), in a few records per table: what is under test
is the executor, the workers and the two DAGs, not the volume.

Skipped when PostgreSQL or Redis does not answer — except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest
from deploy_support import ROOT, mart_differences, mart_rows
from support.landing_builder import DAYS, build_landing
from ugc_pipeline.marts_dag import BUILD_TASK_ID, GROUP_ID, dbt_ls_models
from ugc_pipeline.pipeline import build_marts, ingest_source
from ugc_pipeline.settings import Settings
from ugc_pipeline.sources import SOURCES

pytestmark = [pytest.mark.celery, pytest.mark.airflow]

PG = {"host": "127.0.0.1", "port": 5432, "user": os.environ.get("PGUSER", "postgres")}
REDIS_URL = "redis://127.0.0.1:6379/11"
DAY = DAYS[0]  # the hand-made landing zone's first delivery: snapshots, fact history, Yotpo reviews


def _pg_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=5, password=os.environ.get("PGPASSWORD"),
                           **PG)


def _unavailable() -> str | None:
    try:
        with _pg_connect() as conn:
            conn.execute("select 1")
    except Exception as exc:
        return f"PostgreSQL on 127.0.0.1:5432 does not answer ({str(exc).strip().splitlines()[0]})"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:
        return f"Redis on 127.0.0.1:6379 does not answer ({exc})"
    return None


@pytest.fixture(scope="module")
def services():
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must provide PostgreSQL and Redis for the Celery test")
        pytest.skip(reason)


@pytest.fixture
def warehouse_db(services):
    """A PostgreSQL warehouse the script loads and the test reads afterwards; dropped at the end."""
    name = f"ugc_celery_test_wh_{secrets.token_hex(4)}"
    with _pg_connect() as conn:
        conn.execute(f'create database "{name}"')
    password = os.environ.get("PGPASSWORD")
    auth = PG["user"] + (f":{password}" if password else "")
    yield f"postgresql+psycopg://{auth}@{PG['host']}:{PG['port']}/{name}"
    with _pg_connect() as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _processes_mentioning(token: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if token in text:
            found.append(f"{cmdline.parent.name}: {text[:200]}")
    return found


def test_celery_local_runs_the_daily_dags_on_two_workers(services, warehouse_db, tmp_path):
    landing = tmp_path / "landing"
    assert DAY in build_landing(landing)
    report_file = tmp_path / "report.json"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "celery-local"), "--day", DAY.isoformat(), "--landing", str(landing),
             "--warehouse-url", warehouse_db, "--redis-url", REDIS_URL, "--report", str(report_file),
             "--timeout", "1200"],
            cwd=ROOT, stdout=out, stderr=err, text=True, stdin=subprocess.DEVNULL)
        try:
            # The reference: the same day processed without Airflow, into DuckDB, in this process
            # while the script runs (its stack spends most of its time waiting on Airflow's loops).
            direct = Settings(landing_uri=str(landing), warehouse_url=f"duckdb:///{tmp_path / 'direct.duckdb'}",
                              timezone="Europe/Paris")
            for source in SOURCES:
                ingest_source(source, DAY, direct, run_id="direct")
            build_marts(direct)
            returncode = script.wait(timeout=1500)
        finally:
            if script.poll() is None:  # the reference failed: stop the script (it cleans up on SIGINT)
                script.send_signal(signal.SIGINT)
                script.wait(timeout=300)
    output = stdout.read_text()[-6000:] + stderr.read_text()[-3000:]
    assert report_file.exists(), output
    report = json.loads(report_file.read_text())
    assert returncode == 0, output
    assert report["ok"], output

    # The real thing: Celery workers ran the tasks, sources in parallel on both.
    assert report["ingest_run"]["state"] == "success" and report["marts_run"]["state"] == "success"
    tasks = report["tasks"]
    assert {t["task_id"] for t in tasks if t["dag_id"] == "ugc_ingest"} == {f"ingest_{s}" for s in SOURCES} | {
        "check_pool", "publish_staging", "data_docs", "check_deliveries"}
    assert {t["task_id"] for t in tasks if t["dag_id"] == "ugc_marts"} == {
        "check_pool", BUILD_TASK_ID, "publish_readonly_copy", "summarise", "write_report"} | {
        f"{GROUP_ID}.{name}_model_build" for name in dbt_ls_models()}
    assert all(t["state"] == "success" for t in tasks)
    assert {t["hostname"] for t in tasks} <= set(report["workers"]), "every task ran on one of the script's workers"
    per_worker = report["source_tasks_per_worker"]
    assert len(per_worker) == 2, f"the source tasks did not spread over both workers: {per_worker}"
    assert report["max_parallel_source_tasks"] >= 2, "no two sources loaded at the same time"
    assert all(t["queue"] == report["queue"] for t in tasks)

    # The marts equal those of the same day processed without Airflow.
    assert report["timezone"] == direct.timezone
    celery_marts, direct_marts = mart_rows(warehouse_db), mart_rows(direct.warehouse_url)
    assert report["marts"] == {name: len(rows) for name, rows in celery_marts.items()}
    assert celery_marts["marts.ugc_daily"] and celery_marts["marts.conversion_daily"]
    assert mart_differences(celery_marts, direct_marts) == []

    # Nothing left behind: processes, throwaway databases, Redis keys, the run's folder.
    token = report["token"]
    assert _processes_mentioning(token) == []
    with _pg_connect() as conn:
        left = conn.execute("select datname from pg_database where datname like %s", (f"%{token}%",)).fetchall()
    assert left == []
    import redis

    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{token}*")) == []
    assert not Path(report["run_dir"]).exists()


def test_celery_local_refuses_a_duckdb_warehouse():
    done = subprocess.run([str(ROOT / "scripts" / "celery-local"), "--warehouse-url", "duckdb:///x.duckdb"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "DuckDB allows one writing process" in done.stderr
