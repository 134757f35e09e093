"""Run the project's DAGs through Airflow for a range of delivery days, in order.

This is what ``ugc-pipeline run`` and ``ugc-pipeline demo`` do: with no scheduler to start, each
day is one real Airflow DAG run of ``ugc_ingest`` (its tasks executed by Airflow's task runner,
with params, XCom, assets and the metadata DB), followed by one run of ``ugc_marts``, which is
what the scheduler would trigger from the staging asset. A deployment with a scheduler uses
``airflow backfill create`` instead (see README).

Airflow reads its configuration when first imported: ``configure_airflow`` must run before.

Running unattended (docs/DECISIONS.md, "Running unattended"):

- **One run at a time** per DuckDB warehouse and per Airflow home (its SQLite metadata DB, where
  ``dag.test`` replaces any run of the same DAG and logical date): ``exclusive_run`` takes a lock
  file beside each, waiting up to ``UGC_LOCK_WAIT_SECONDS`` with a message, else ``RunBusy``.
- **The warehouse is checked once before any day** (``warehouse.check_warehouse``): unreachable,
  the run does not start (``WarehouseUnavailable``, one line, redacted).
- **No retry waits.** ``dag.test`` waits for a task's retry by polling every second ("No tasks to
  run"); the runner runs the DAGs with no retries: a failed task fails its day, the summary
  says so, and running the day again is the retry.
- **Signals.** With ``RunStop.signals()``, SIGTERM and SIGINT stop the run between two tasks
  (the current task finishes; a second SIGINT stops it at once); the interrupted DAG run is
  marked failed and the caller prints what ran.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time as clock
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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
        # Cosmos (the marts DAG) sends usage telemetry unless told not to, and reads a lineage
        # namespace that Airflow leaves unset without the OpenLineage provider
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "ugc_pipeline",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return {k: os.environ[k] for k in defaults}


def migrate_metadata_db() -> None:
    """``airflow db migrate``: creates or upgrades the metadata DB. Skipped when the DB is already
    at the migrations' head (checked in process: 2 s, where the command takes 10 to 15)."""
    try:
        from airflow.utils.db import check_migrations

        check_migrations(0)
        return
    except Exception as exc:  # not at the head (TimeoutError), or no DB yet: migrate
        log.debug("metadata DB not at the head revision: %s", exc)
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


class RunBusy(RuntimeError):
    """Another ``ugc-pipeline`` run holds the warehouse or the Airflow home longer than the wait."""


class RunInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error of the run
    """A signal stopped the run (a BaseException, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class RunStop:
    """Why a run stops before its last day: a signal, or a warehouse that went away.

    Inside ``signals()``, SIGTERM and SIGINT set ``signum``; the runner checks it before every
    task and between days, so the task under way finishes and no other starts. A second SIGINT
    (or SIGTERM between tasks) raises ``RunInterrupted`` at once. Airflow's task runner replaces
    the SIGTERM handler while a task runs (with one that calls the operator's ``on_kill``): a
    SIGTERM received then is read back from the signal wakeup fd at the next ``checkpoint``.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)
    _active: RunStop | None = None  # the one whose signals() is in force (for callers not given one)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reason: str | None = None
        self._wakeup: socket.socket | None = None
        self._announced = False

    @property
    def requested(self) -> bool:
        return self.signum is not None or self.reason is not None

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number (143 for SIGTERM, 130 for SIGINT), as a shell reports it."""
        return 128 + self.signum if self.signum is not None else None

    def _on_signal(self, signum: int, _frame) -> None:
        if self.signum is not None:
            raise RunInterrupted(signum)
        self.signum = signum
        self.reason = f"interrupted by {signal.Signals(signum).name}"

    @contextlib.contextmanager
    def signals(self) -> Iterator[RunStop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in self.SIGNALS}
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._wakeup = reader
        for s in self.SIGNALS:
            signal.signal(s, self._on_signal)
        outer, RunStop._active = RunStop._active, self
        try:
            yield self
        finally:
            RunStop._active = outer
            for s, handler in previous.items():
                signal.signal(s, handler)
            signal.set_wakeup_fd(previous_fd)
            self._wakeup = None
            reader.close()
            writer.close()

    @classmethod
    def current(cls, given: RunStop | None = None) -> RunStop:
        """``given``, else the one listening to signals, else a new one (stopped by nothing)."""
        return given or cls._active or cls()

    def checkpoint(self, progress: Callable[[str], None] | None = None) -> None:
        """Between two tasks: notice a signal received while a task ran, take the handlers back."""
        if self._wakeup is None:
            return
        received = b""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while chunk := self._wakeup.recv(256):
                received += chunk
        for signum in received:
            if signum in self.SIGNALS and self.signum is None:
                self.signum = signum
                self.reason = f"interrupted by {signal.Signals(signum).name}"
        for s in self.SIGNALS:
            signal.signal(s, self._on_signal)
        if self.signum is not None and not self._announced and progress is not None:
            self._announced = True
            progress(f"    {signal.Signals(self.signum).name} received: stopping (no further task starts)")


# -- one run at a time ----------------------------------------------------------------------------

RUN_LOCK_SUFFIX = ".ugc-run.lock"
_HELD: dict[str, list] = {}  # lock file -> [fd, depth]: the locks this process holds (re-entrant)


def run_locks(settings: Settings) -> list[tuple[Path, str]]:
    """The lock files a run takes, in order, with what they protect: beside a DuckDB warehouse
    file (DuckDB has one writing process; two runs would fail on its file lock), and in the
    Airflow home (``dag.test`` replaces any run of the same DAG and day in the metadata DB)."""
    locks = []
    if settings.warehouse_url.startswith("duckdb"):
        from sqlalchemy.engine import make_url

        database = make_url(settings.warehouse_url).database
        if database and database != ":memory:":
            path = Path(database).expanduser().resolve()
            locks.append((path.with_name(path.name + RUN_LOCK_SUFFIX), f"the DuckDB warehouse {path}"))
    home = Path(os.environ.get("AIRFLOW_HOME") or configure_airflow()["AIRFLOW_HOME"]).resolve()
    locks.append((home / ("ugc-pipeline" + RUN_LOCK_SUFFIX), f"the Airflow home {home}"))
    return locks


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
        return f"PID {info['pid']}, `{info['command']}`, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "PID unknown"


@contextlib.contextmanager
def exclusive(path: Path, what: str, wait: float, progress: Callable[[str], None] = print,
              stop: RunStop | None = None) -> Iterator[None]:
    """Hold ``path`` (an OS lock, released by the kernel if the process dies) for the block,
    waiting up to ``wait`` seconds for another process to release it, else ``RunBusy``."""
    key = str(path)
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = clock.monotonic()
        next_note = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = clock.monotonic() - started
                if waited >= wait:
                    raise RunBusy(f"{what} is in use by another ugc-pipeline run ({_holder(path)}); "
                                  + (f"gave up after {wait:.0f} s" if wait else "not waiting")
                                  + " (UGC_LOCK_WAIT_SECONDS)") from None
                if next_note is None:
                    progress(f"Waiting for {what}: another ugc-pipeline run holds it ({_holder(path)}); "
                             f"waiting up to {wait:.0f} s (UGC_LOCK_WAIT_SECONDS)")
                    next_note = 30.0
                elif waited >= next_note:
                    progress(f"  still waiting for {what} ({waited:.0f} s)")
                    next_note += 30.0
                if stop is not None:
                    stop.checkpoint()
                    if stop.signum is not None:
                        raise RunInterrupted(stop.signum) from None
                clock.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": " ".join(["ugc-pipeline", *sys.argv[1:]]),
                                 "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}).encode())
        _HELD[key] = [fd, 1]
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_run(settings: Settings, progress: Callable[[str], None] = print,
                  stop: RunStop | None = None) -> Iterator[None]:
    """What a run needs before its first day: the DuckDB warehouse to itself, a warehouse that
    answers (checked once: ``WarehouseUnavailable`` otherwise), and the Airflow home to itself."""
    from ugc_pipeline import warehouse

    locks = run_locks(settings)
    outermost = str(locks[-1][0]) not in _HELD
    with contextlib.ExitStack() as held:
        for path, what in locks[:-1]:
            held.enter_context(exclusive(path, what, settings.lock_wait_seconds, progress, stop))
        if outermost:
            warehouse.check_warehouse(settings.warehouse_url)
        path, what = locks[-1]
        held.enter_context(exclusive(path, what, settings.lock_wait_seconds, progress, stop))
        yield


def load_dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    # Airflow 3.3's DAG-folder scan uses a pathspec class that pathspec deprecated: the warning
    # repeats at every DAG load and buries the run's own output; it is Airflow's to fix. (Set
    # here, after Airflow's import, which puts its own "default" filter for its modules first.)
    warnings.filterwarnings("ignore", message=r"GitWildMatchPattern", category=DeprecationWarning)
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError("DAG import errors:\n" + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    return bag.dags


def export_settings(settings: Settings) -> None:
    """The task code reads its settings from the environment, like a deployed worker."""
    os.environ.update({
        "UGC_LANDING_URI": settings.landing_uri, "UGC_WAREHOUSE_URL": settings.warehouse_url,
        "UGC_TIMEZONE": settings.timezone, "UGC_GX_DIR": settings.gx_dir, "UGC_DBT_DIR": settings.dbt_dir,
        "UGC_MAX_REJECTED_SHARE": settings.max_rejected_share,
        "UGC_PULL_SOURCES": settings.pull_sources, "UGC_PULL_LOOKBACK_DAYS": str(settings.pull_lookback_days),
        "UGC_PULL_REPULL_DAYS": str(settings.pull_repull_days), "UGC_PULL_MAX_RETRIES": str(settings.pull_max_retries),
        "UGC_LOCK_WAIT_SECONDS": str(settings.lock_wait_seconds),
        "UGC_BATCH_RECORDS": str(settings.batch_records), "UGC_SOURCE_CHECKS": settings.source_checks,
        "UGC_WAREHOUSE_CONN_ID": settings.warehouse_conn_id, "UGC_LANDING_CONN_ID": settings.landing_conn_id,
        "UGC_MIN_SESSIONS": str(settings.min_sessions), "UGC_MIN_ORDERS": str(settings.min_orders),
        "UGC_MIN_STORES_PER_ARM": str(settings.min_stores_per_arm),
        "UGC_PUBLISHED_WAREHOUSE": settings.published_warehouse, "UGC_REPORT_DIR": settings.report_dir,
    })


@dataclass
class DayResult:
    delivery_date: date
    ingest_state: str
    marts_state: str | None
    failed_tasks: list[str]
    # tasks of an interrupted DAG run that never started
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ingest_state == "success" and self.marts_state in ("success", None)


def _failed_tasks(dag_run) -> list[str]:
    return sorted(ti.task_id for ti in dag_run.get_task_instances() if ti.state in ("failed", "upstream_failed"))


@dataclass
class _Outcome:
    """A DAG run through ``_dag_test``: its state, failed tasks, and tasks never started."""
    state: str
    run_id: str | None
    failed: list[str]
    not_run: list[str]
    succeeded: list[str] = field(default_factory=list)

    @property
    def published(self) -> bool:
        """The staging asset was emitted: a scheduler would now start ``ugc_marts`` (even when
        another task of the run, such as ``check_deliveries``, failed)."""
        return "publish_staging" in self.succeeded


class _StopBetweenTasks(BaseException):  # noqa: N818 - control flow out of dag.test, never an error
    pass


def _without_retries(dag) -> None:
    """``dag.test`` waits for a retry by polling every second (and logging "No tasks to run") for
    the whole retry delay, 5 minutes here: under the runner a failed task fails its day at once,
    and running the day again is the retry (loads replace, pulls resume)."""
    for task in dag.tasks:
        task.retries = 0


def _dag_test(dag, stop: RunStop, progress: Callable[[str], None], **kwargs) -> _Outcome:
    """``dag.test`` that stops between two tasks once ``stop`` is requested; an interrupted DAG
    run is marked failed (its unstarted tasks skipped), as Airflow marks a run failed by hand."""
    import airflow.sdk.definitions.dag as dag_module

    _without_retries(dag)
    real_run_task = dag_module._run_task
    seen: dict[str, str] = {}

    def run_task_unless_stopped(*, ti, task, **more):
        seen["run_id"] = ti.run_id
        stop.checkpoint(progress)
        if stop.requested:
            raise _StopBetweenTasks()
        try:
            return real_run_task(ti=ti, task=task, **more)
        finally:
            stop.checkpoint(progress)

    dag_module._run_task = run_task_unless_stopped
    try:
        run = dag.test(**kwargs)
        return _Outcome(str(run.state), run.run_id, _failed_tasks(run), [],
                        sorted(ti.task_id for ti in run.get_task_instances() if ti.state == "success"))
    except (_StopBetweenTasks, RunInterrupted) as exc:
        if isinstance(exc, RunInterrupted) and stop.signum is None:
            stop.signum, stop.reason = exc.signum, str(exc)
        return _stop_dag_run(dag.dag_id, seen.get("run_id"))
    finally:
        dag_module._run_task = real_run_task


def _stop_dag_run(dag_id: str, run_id: str | None) -> _Outcome:
    """Mark the interrupted ``dag.test`` run failed: tasks that were running failed, the others
    skipped (what Airflow does when a run is marked failed). Only ``dag.test`` runs are touched;
    this process holds the Airflow home, so they are its own (or stale ones)."""
    from airflow import settings as airflow_settings
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, State, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    with contextlib.suppress(Exception):
        airflow_settings.Session().rollback()  # dag.test's session, left in the middle of its loop
    failed: list[str] = []
    not_run: list[str] = []
    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id == dag_id, DagRun.state == DagRunState.RUNNING)
        query = query.where(DagRun.run_id == run_id) if run_id else query.where(
            DagRun.triggered_by == DagRunTriggeredByType.TEST)
        for dag_run in session.scalars(query).all():
            for ti in dag_run.get_task_instances(session=session):
                if ti.state in (TaskInstanceState.RUNNING, TaskInstanceState.QUEUED):
                    ti.state = TaskInstanceState.FAILED
                elif ti.state not in State.finished:
                    ti.state = TaskInstanceState.SKIPPED
                    not_run.append(ti.task_id)
                if ti.state in (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED):
                    failed.append(ti.task_id)
            dag_run.set_state(DagRunState.FAILED)
            run_id = run_id or dag_run.run_id
    return _Outcome("interrupted", run_id, sorted(failed), sorted(not_run))


@contextlib.contextmanager
def _dags_ready(settings: Settings, progress: Callable[[str], None], stop: RunStop) -> Iterator[dict]:
    """Under the run lock: the settings exported for the tasks, Airflow configured and its
    metadata DB migrated, the pool in place; yields the DAGs."""
    export_settings(settings)
    configure_airflow()
    with exclusive_run(settings, progress, stop):
        _quiet_airflow_logs()
        migrate_metadata_db()
        ensure_pool(settings)
        yield load_dags()


def run_days(days: list[date], settings: Settings, build_marts_each_day: bool = True,
             progress: Callable[[str], None] = print, stop: RunStop | None = None) -> list[DayResult]:
    """Run ``ugc_ingest`` for every day in order, each followed by ``ugc_marts``.

    Returns a result per day that ran; fewer than ``days`` when the run stopped early:
    ``stop.reason`` says why (a signal, or a warehouse that stopped answering). Raises
    ``WarehouseUnavailable`` (nothing ran) or ``RunBusy`` before the first day."""
    from ugc_pipeline import warehouse

    stop = RunStop.current(stop)
    with _dags_ready(settings, progress, stop) as dags:
        ingest, marts = dags["ugc_ingest"], dags["ugc_marts"]
        zone = ZoneInfo(settings.timezone)
        engine = warehouse.create_warehouse_engine(settings.warehouse_url)
        results = []
        try:
            for i, day in enumerate(days, 1):
                stop.checkpoint(progress)
                if stop.requested:
                    break
                progress(f"[{i}/{len(days)}] delivery {day}: ugc_ingest ...")
                logical = datetime.combine(day, time(0, 0), tzinfo=zone)
                run = _dag_test(ingest, stop, progress, logical_date=logical)
                _print_run_records(engine, run.run_id, progress, settings.warehouse_url)
                _print_check(settings, [day], run, progress)
                failed, marts_state = list(run.failed), None
                if run.published and build_marts_each_day:
                    if stop.requested:
                        marts_state = "not run"
                    else:
                        progress(f"[{i}/{len(days)}] delivery {day}: ugc_marts ...")
                        mrun = _dag_test(marts, stop, progress, logical_date=None)
                        marts_state = mrun.state
                        failed += mrun.failed
                        run.not_run += mrun.not_run
                results.append(DayResult(day, run.state, marts_state, failed, run.not_run))
                if failed:
                    progress(f"    FAILED tasks: {', '.join(failed)} (see the task logs under "
                             f"{os.environ['AIRFLOW_HOME']}/logs and audit.pipeline_runs)")
                if not results[-1].ok and not stop.requested:
                    try:  # a warehouse that went away fails every later day too: stop here
                        warehouse.check_warehouse(settings.warehouse_url)
                    except warehouse.WarehouseUnavailable as exc:
                        stop.reason = str(exc)
                        progress(f"    stopping: {exc}")
        except RunInterrupted as exc:  # a second signal, outside a task: stop now, say what ran
            stop.signum, stop.reason = stop.signum or exc.signum, stop.reason or str(exc)
            for dag in (ingest, marts):
                with contextlib.suppress(Exception):
                    _stop_dag_run(dag.dag_id, None)
        return results


def run_backfill(start: date, end: date, settings: Settings, progress: Callable[[str], None] = print,
                 stop: RunStop | None = None) -> DayResult:
    """One ``ugc_ingest`` run over every delivery day from ``start`` to ``end`` (its
    ``delivery_date`` and ``through_date`` params: each source task loads the days in order, the
    business snapshots of the whole range first), then one ``ugc_marts`` run. The result's
    ``delivery_date`` is ``start``. Raises as ``run_days`` before the run."""
    from ugc_pipeline import warehouse

    stop = RunStop.current(stop)
    with _dags_ready(settings, progress, stop) as dags:
        ingest, marts = dags["ugc_ingest"], dags["ugc_marts"]
        conf = {"delivery_date": start.isoformat(), "through_date": end.isoformat()}
        progress(f"ugc_ingest {conf} ...")
        try:
            run = _dag_test(ingest, stop, progress, logical_date=None, run_conf=conf)
            _print_range_records(warehouse.create_warehouse_engine(settings.warehouse_url), run.run_id, progress)
            _print_check(settings, day_range(start, end), run, progress)
            failed, marts_state = list(run.failed), None
            if run.published and not stop.requested:
                progress("ugc_marts ...")
                mrun = _dag_test(marts, stop, progress, logical_date=None)
                marts_state, failed, run.not_run = mrun.state, failed + mrun.failed, run.not_run + mrun.not_run
        except RunInterrupted as exc:
            stop.signum, stop.reason = stop.signum or exc.signum, stop.reason or str(exc)
            for dag in (ingest, marts):
                with contextlib.suppress(Exception):
                    _stop_dag_run(dag.dag_id, None)
            return DayResult(start, "interrupted", None, [], [])
        if failed:
            progress(f"    FAILED tasks: {', '.join(failed)} (see the task logs under "
                     f"{os.environ['AIRFLOW_HOME']}/logs and audit.pipeline_runs)")
        return DayResult(start, run.state, marts_state, failed, run.not_run)


def _print_check(settings: Settings, days: list[date], run: _Outcome, progress: Callable[[str], None]) -> None:
    """What ``check_deliveries`` found wrong (its task log says it too), when it failed."""
    if "check_deliveries" not in run.failed or not run.run_id:
        return
    from ugc_pipeline.checks import check_deliveries

    with contextlib.suppress(Exception):  # the summary must not hide the run's own outcome
        for problem in check_deliveries(settings, days, run.run_id).problems:
            progress(f"    check_deliveries: {problem}")


def _print_range_records(engine, run_id: str | None, progress: Callable[[str], None]) -> None:
    """The run records of a backfill, one line per source (days by status, records)."""
    from ugc_pipeline import warehouse

    if not run_id:
        return
    with contextlib.suppress(Exception):  # the summary must not hide the run's own outcome
        rows = warehouse.query_frame(
            engine, "select source, status, count(*) as days, sum(records_loaded) as loaded, "
                    "sum(records_rejected) as rejected from audit.pipeline_runs where run_id = :r "
                    "group by source, status order by source, status", {"r": run_id})
        for row in rows.itertuples():
            progress(f"    {row.source:<24} {row.status:<11} {int(row.days)} day(s), {int(row.loaded or 0)} loaded, "
                     f"{int(row.rejected or 0)} rejected")


def _print_run_records(engine, run_id: str | None, progress: Callable[[str], None], url: str) -> None:
    """The run records the day's tasks wrote, one line per source."""
    from ugc_pipeline import warehouse

    if not run_id:
        return
    try:
        rows = warehouse.query_frame(
            engine, "select source, status, files_read, records_read, records_loaded, records_rejected, message, "
                    "pull_requests, pull_retries from audit.pipeline_runs where run_id = :r order by source",
            {"r": run_id}).itertuples()
    except Exception as exc:  # the warehouse went away: say so in one line, the summary follows
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = warehouse.unreachable(exc, url) or (first[0] if first else type(exc).__name__)
        progress(f"    (the run records cannot be read: {why})")
        return
    for row in rows:
        detail = (f"{row.records_loaded} loaded, {row.records_rejected} rejected of {row.records_read} read "
                  f"from {row.files_read} file(s)") if row.status == "success" else (
            "no delivery" if row.status == "no_delivery" else row.message)
        if row.pull_requests is not None and row.pull_requests == row.pull_requests:  # not null / NaN
            detail += f"; pulled with {int(row.pull_requests)} request(s), {int(row.pull_retries)} retried"
        progress(f"    {row.source:<24} {row.status:<11} {detail}")


def _quiet_airflow_logs() -> None:
    for name in ("airflow", "sqlalchemy", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def day_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def run_marts_once(progress: Callable[[str], None] = print, stop: RunStop | None = None) -> str:
    """One ``ugc_marts`` run (after a backfill that ingested every day first)."""
    stop = RunStop.current(stop)
    progress("ugc_marts ...")
    run = _dag_test(load_dags()["ugc_marts"], stop, progress, logical_date=None)
    if run.failed:
        progress(f"    FAILED tasks: {', '.join(run.failed)}")
    return run.state


def run_replay(settings: Settings, conf: dict, progress: Callable[[str], None] = print,
               stop: RunStop | None = None) -> bool:
    """``ugc_replay_quarantine`` then ``ugc_marts``, through Airflow."""
    stop = RunStop.current(stop)
    with _dags_ready(settings, progress, stop) as dags:
        progress(f"ugc_replay_quarantine {conf} ...")
        run = _dag_test(dags["ugc_replay_quarantine"], stop, progress, logical_date=None, run_conf=conf)
        if run.failed or run.state != "success":
            if run.failed:
                progress(f"    FAILED tasks: {', '.join(run.failed)}")
            return False
        return run_marts_once(progress, stop) == "success"


def run_erase(settings: Settings, conf: dict, progress: Callable[[str], None] = print,
              stop: RunStop | None = None) -> tuple[str, str | None]:
    """``ugc_erase`` through Airflow, with ``conf`` its params; (state, run id)."""
    stop = RunStop.current(stop)
    with _dags_ready(settings, progress, stop) as dags:
        run = _dag_test(dags["ugc_erase"], stop, progress, logical_date=None, run_conf=conf)
        if run.failed:
            progress(f"    FAILED tasks: {', '.join(run.failed)}")
        return run.state, run.run_id
