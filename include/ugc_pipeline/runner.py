"""Run the project's DAGs through Airflow for a range of delivery days, in order.

This is what ``ugc-pipeline run`` and ``ugc-pipeline demo`` do: with no scheduler to start, each
day is one real Airflow DAG run of ``ugc_ingest`` (its tasks executed by Airflow's task runner,
with params, XCom, assets and the metadata DB), followed by one run of ``ugc_marts``, which is
what the scheduler would trigger from the staging asset. A deployment with a scheduler uses
``airflow backfill create`` instead (see README).

Airflow reads its configuration when first imported: ``configure_airflow`` must run before.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ugc_pipeline.catalog import PROJECT_DIR
from ugc_pipeline.settings import WAREHOUSE_POOL, Settings

log = logging.getLogger(__name__)


def configure_airflow(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """Point a local Airflow at the project (unless the environment already says otherwise):
    a SQLite metadata DB under ``.airflow/``, the project's dags/ and plugins/, no examples."""
    defaults = {
        "AIRFLOW_HOME": str(project_dir / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_dir / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_dir / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return {k: os.environ[k] for k in defaults}


def migrate_metadata_db() -> None:
    """``airflow db migrate``: creates or upgrades the metadata DB; a no-op when up to date."""
    airflow_bin = Path(sys.executable).with_name("airflow")
    cmd = [str(airflow_bin), "db", "migrate"] if airflow_bin.exists() else [
        sys.executable, "-m", "airflow", "db", "migrate"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def ensure_pool(settings: Settings) -> None:
    """The pool that serialises warehouse writers: one slot for DuckDB (a single writer)."""
    from airflow.models.pool import Pool

    slots = 1 if settings.warehouse_url.startswith("duckdb") else 4
    Pool.create_or_update_pool(
        name=WAREHOUSE_POOL, slots=slots, include_deferred=False,
        description="Tasks that write the UGC warehouse (1 slot: DuckDB allows one writer).")


def load_dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError("DAG import errors:\n" + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    return bag.dags


def export_settings(settings: Settings) -> None:
    """The task code reads its settings from the environment, like a deployed worker."""
    os.environ.update({
        "UGC_LANDING_URI": settings.landing_uri, "UGC_WAREHOUSE_URL": settings.warehouse_url,
        "UGC_TIMEZONE": settings.timezone, "UGC_GX_DIR": settings.gx_dir,
        "UGC_MAX_REJECTED_SHARE": settings.max_rejected_share,
        "UGC_PULL_SOURCES": settings.pull_sources, "UGC_PULL_LOOKBACK_DAYS": str(settings.pull_lookback_days),
        "UGC_PULL_REPULL_DAYS": str(settings.pull_repull_days), "UGC_PULL_MAX_RETRIES": str(settings.pull_max_retries),
    })


@dataclass
class DayResult:
    delivery_date: date
    ingest_state: str
    marts_state: str | None
    failed_tasks: list[str]

    @property
    def ok(self) -> bool:
        return self.ingest_state == "success" and self.marts_state in ("success", None)


def _failed_tasks(dag_run) -> list[str]:
    return sorted(ti.task_id for ti in dag_run.get_task_instances() if ti.state in ("failed", "upstream_failed"))


def run_days(days: list[date], settings: Settings, build_marts_each_day: bool = True,
             progress: Callable[[str], None] = print) -> list[DayResult]:
    """Run ``ugc_ingest`` for every day in order, each followed by ``ugc_marts``."""
    export_settings(settings)
    configure_airflow()
    migrate_metadata_db()
    _quiet_airflow_logs()
    ensure_pool(settings)
    dags = load_dags()
    ingest, marts = dags["ugc_ingest"], dags["ugc_marts"]
    zone = ZoneInfo(settings.timezone)

    from ugc_pipeline import warehouse

    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    results = []
    for i, day in enumerate(days, 1):
        progress(f"[{i}/{len(days)}] delivery {day}: ugc_ingest ...")
        logical = datetime.combine(day, time(0, 0), tzinfo=zone)
        run = ingest.test(logical_date=logical)
        for row in warehouse.query_frame(
                engine, "select source, status, files_read, records_read, records_loaded, records_rejected, message, "
                        "pull_requests, pull_retries from audit.pipeline_runs where run_id = :r order by source",
                {"r": run.run_id}).itertuples():
            detail = (f"{row.records_loaded} loaded, {row.records_rejected} rejected of {row.records_read} read "
                      f"from {row.files_read} file(s)") if row.status == "success" else (
                "no delivery" if row.status == "no_delivery" else row.message)
            if row.pull_requests is not None and row.pull_requests == row.pull_requests:  # not null / NaN
                detail += f"; pulled with {int(row.pull_requests)} request(s), {int(row.pull_retries)} retried"
            progress(f"    {row.source:<24} {row.status:<11} {detail}")
        failed = _failed_tasks(run)
        marts_state = None
        if run.state == "success" and build_marts_each_day:
            progress(f"[{i}/{len(days)}] delivery {day}: ugc_marts ...")
            mrun = marts.test(logical_date=None)
            marts_state = str(mrun.state)
            failed += _failed_tasks(mrun)
        results.append(DayResult(day, str(run.state), marts_state, failed))
        if failed:
            progress(f"    FAILED tasks: {', '.join(failed)} (see the task logs under "
                     f"{os.environ['AIRFLOW_HOME']}/logs and audit.pipeline_runs)")
    return results


def _quiet_airflow_logs() -> None:
    for name in ("airflow", "sqlalchemy", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def day_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def run_marts_once(progress: Callable[[str], None] = print) -> str:
    """One ``ugc_marts`` run (after a backfill that ingested every day first)."""
    progress("ugc_marts ...")
    run = load_dags()["ugc_marts"].test(logical_date=None)
    failed = _failed_tasks(run)
    if failed:
        progress(f"    FAILED tasks: {', '.join(failed)}")
    return str(run.state)


def run_replay(settings: Settings, conf: dict, progress: Callable[[str], None] = print) -> bool:
    """``ugc_replay_quarantine`` then ``ugc_marts``, through Airflow."""
    export_settings(settings)
    configure_airflow()
    migrate_metadata_db()
    _quiet_airflow_logs()
    ensure_pool(settings)
    dags = load_dags()
    progress(f"ugc_replay_quarantine {conf} ...")
    run = dags["ugc_replay_quarantine"].test(logical_date=None, run_conf=conf)
    failed = _failed_tasks(run)
    if failed:
        progress(f"    FAILED tasks: {', '.join(failed)}")
        return False
    return run_marts_once(progress) == "success"
