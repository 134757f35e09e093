#!/usr/bin/env python3
"""Run the project's DAGs with CeleryExecutor and two Celery workers on one machine.

Body of ``scripts/celery-local`` (see that file and docs/DEPLOYING.md). In short:

1. creates two throwaway PostgreSQL databases on 127.0.0.1:5432 — the Airflow metadata DB (also
   the Celery result backend) and the UGC warehouse — and a throwaway AIRFLOW_HOME;
2. writes the sample landing zone there (or uses ``--landing``);
3. ``airflow db migrate``, creates the ``ugc_warehouse`` pool with several slots (PostgreSQL
   accepts concurrent writers, DuckDB does not);
4. starts ``airflow api-server`` (the workers' tasks talk to its execution API),
   ``airflow scheduler``, ``airflow dag-processor`` and two ``airflow celery worker`` processes
   with distinct Celery hostnames, on a queue of their own in a dedicated Redis database;
5. triggers one ``ugc_ingest`` run for the delivery day, unpauses both DAGs, waits for that run
   and for the ``ugc_marts`` run the scheduler creates from the staging asset;
6. prints which worker ran which task, the marts' row counts and the audit records;
7. stops every process it started (whole process groups), drops both databases, deletes its
   Redis keys and its temporary folder — also on failure, timeout or Ctrl-C.

With ``--executor local`` it is the scheduler benchmark of docs/BENCHMARKS.md instead: the
LocalExecutor (no Celery worker, no Redis) on the embedded default warehouse (a DuckDB file in
the run's folder, a 1-slot ``ugc_warehouse`` pool), as ``make airflow-ui`` runs it; the report
adds the seconds from the trigger to the end of the ``ugc_marts`` run, each task's queue wait
and duration, and the CPU seconds the Airflow processes used during the run. With ``--history N``
it measures a day in steady state: the first N-1 days are loaded in this process, the N-th runs
through the scheduler untimed (the warm-up: the DAGs unpaused and parsed, the executor's workers
and fork server up, as after any earlier day), then the measured day is triggered.

Exit status: 0 when both runs succeeded, 1 when a run failed or timed out, 2 on bad arguments,
3 when PostgreSQL or Redis does not answer.

This module is also imported by the workers' task processes for one function,
``worker_hostname`` (``[core] hostname_callable``), so its top level imports nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
DAG_IDS = ("ugc_ingest", "ugc_marts")
WORKER_NAME_ENV = "UGC_CELERY_WORKER_NAME"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SERVICES = 0, 1, 2, 3


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the local workers: the worker's own name, so that each task
    instance records which of the workers on this one machine ran it."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


# -- small helpers ---------------------------------------------------------------------------------

class RunFailed(Exception):
    """The Airflow run (or the stack under it) did not do what it should; the message says why."""


class Interrupted(BaseException):
    """SIGTERM/SIGINT/SIGHUP or the hard deadline: clean up and leave."""


def say(message: str) -> None:
    print(f"[celery-local {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self, what: str) -> None:
        if self.remaining <= 0:
            raise RunFailed(f"timed out after {self.seconds:.0f}s while {what}")

    def budget(self, cap: float) -> float:
        return max(1.0, min(cap, self.remaining))


# -- PostgreSQL and Redis ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str

    def url(self, database: str, driver: str = "psycopg2") -> str:
        password = os.environ.get("PGPASSWORD")
        auth = self.user if not password else f"{self.user}:{password}"
        scheme = "postgresql" if not driver else f"postgresql+{driver}"
        return f"{scheme}://{auth}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=database,
                               password=os.environ.get("PGPASSWORD"), autocommit=True, connect_timeout=5)

    def ping(self) -> None:
        with self.connect() as conn:
            conn.execute("select 1")

    def create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'create database "{name}"')

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')

    def query(self, database: str, sql: str, params: dict | tuple | None = None) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with self.connect(database) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)


def redis_cleanup(url: str, token: str) -> int:
    """Delete what this run left in its Redis database: its queue's keys and its bindings."""
    client = redis_client(url)
    removed = 0
    for key in client.scan_iter(match=f"*{token}*"):
        removed += client.delete(key)
    for key in client.scan_iter(match="_kombu.binding.*"):
        if client.type(key) != b"set":
            continue
        members = [m for m in client.smembers(key) if token.encode() in m]
        if members:
            client.srem(key, *members)
            removed += len(members)
    return removed


# -- processes ---------------------------------------------------------------------------------------

@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path


class Processes:
    """Long-running Airflow processes, each the leader of its own process group, so that stopping
    it also stops what it forked (uvicorn workers, Celery pool processes, task supervisors)."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.services: list[Service] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        log = self.run_dir / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(args, env=env, cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        service = Service(name, process, log)
        self.services.append(service)
        say(f"started {name} (pid {process.pid}), log {log}")
        return service

    def check_alive(self) -> None:
        for service in self.services:
            code = service.process.poll()
            if code is not None:
                raise RunFailed(f"{service.name} exited with code {code}; last lines of {service.log}:\n"
                                f"{tail(service.log)}")

    def stop(self, grace: float = 30.0) -> list[str]:
        """SIGTERM every leader (warm shutdown), then the rest of each group, then SIGKILL.
        Returns the names of the groups that needed SIGKILL."""
        for service in self.services:
            if service.process.poll() is None:
                with suppress(ProcessLookupError):
                    service.process.send_signal(signal.SIGTERM)
        end = time.monotonic() + grace
        for service in self.services:
            with suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(0.1, end - time.monotonic()))
        for service in self.services:  # forked children left in the group
            _signal_group(service.process.pid, signal.SIGTERM)
        end = time.monotonic() + 10
        while time.monotonic() < end and any(_group_alive(s.process.pid) for s in self.services):
            time.sleep(0.2)
        killed = []
        for service in self.services:
            if service.process.poll() is None or _group_alive(service.process.pid):
                killed.append(service.name)
                _signal_group(service.process.pid, signal.SIGKILL)
                with suppress(subprocess.TimeoutExpired):
                    service.process.wait(timeout=10)
        end = time.monotonic() + 10
        while time.monotonic() < end and any(_group_alive(s.process.pid) for s in self.services):
            time.sleep(0.2)
        left = [s.name for s in self.services if _group_alive(s.process.pid)]
        if left:
            say(f"WARNING: processes of {', '.join(left)} are still running")
        return killed


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie leader still counts; reap it if it is ours
    with suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# -- the run -----------------------------------------------------------------------------------------

@dataclass
class Options:
    day: date | None
    landing: str | None
    warehouse_url: str | None
    workers: int
    concurrency: int
    pool_slots: int
    timezone: str
    pg: Postgres
    redis_url: str
    timeout: float
    report: Path | None
    keep: bool
    executor: str = "celery"
    preload: bool = True
    sample_days: int = 3
    history: int = 0
    through: date | None = None
    warm_up: bool = True


class CeleryLocal:
    def __init__(self, opts: Options):
        self.opts = opts
        self.token = f"{datetime.now():%Y%m%d%H%M%S}{secrets.token_hex(3)}"
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"ugc-celery-{self.token}-"))
        self.meta_db = f"ugc_celery_meta_{self.token}"
        self.warehouse_db = f"ugc_celery_wh_{self.token}"
        self.queue = f"ugc-celery-{self.token}"
        self.created_dbs: list[str] = []
        self.processes = Processes(self.run_dir)
        self.deadline = Deadline(opts.timeout)
        self.report: dict[str, Any] = {"token": self.token, "run_dir": str(self.run_dir), "ok": False}
        self.env: dict[str, str] = {}
        self.api_port = 0
        self.warm_day: date | None = None
        self.unpaused = False

    # -- setup -----------------------------------------------------------------------------------
    def preflight(self) -> None:
        try:
            self.opts.pg.ping()
        except Exception as exc:
            raise ServiceUnavailable(f"PostgreSQL at {self.opts.pg.host}:{self.opts.pg.port} does not answer: "
                                     f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}") from None
        if self.opts.executor == "local":
            return
        try:
            redis_client(self.opts.redis_url).ping()
        except Exception as exc:
            raise ServiceUnavailable(f"Redis at {self.opts.redis_url} does not answer: {exc}") from None

    def prepare(self) -> None:
        pg = self.opts.pg
        local = self.opts.executor == "local"
        for name in (self.meta_db, *(() if self.opts.warehouse_url or local else (self.warehouse_db,))):
            pg.create_database(name)
            self.created_dbs.append(name)
        say(f"created throwaway databases {', '.join(self.created_dbs)} on {pg.host}:{pg.port}")
        warehouse_url = self.opts.warehouse_url or (
            f"duckdb:///{self.run_dir / 'warehouse.duckdb'}" if local else pg.url(self.warehouse_db, driver="psycopg"))
        landing = self.opts.landing
        day = self.opts.day
        history: list[date] = []
        if landing is None:
            from ugc_pipeline.sample import write_sample_landing

            sample = write_sample_landing(self.run_dir / "landing", campaign_days=self.opts.sample_days - 1,
                                          extra_delivery_days=0)
            landing = str(sample.root)
            history = sample.delivery_dates[:self.opts.history]
            # the snapshot day (most sources deliver), or the first day after the history
            day = day or sample.delivery_dates[len(history)]
            if history and self.opts.warm_up and self.opts.executor == "local":
                # the last history day goes through the scheduler before the measured one (warm_up)
                self.warm_day = history.pop()
            dates = sample.delivery_dates
            say(f"wrote the sample landing zone to {landing} ({len(dates)} delivery days, {dates[0]} to {dates[-1]})")
        if day is None:
            raise UsageError("--day is required with --landing")
        if history:
            self._load_history(history, landing, warehouse_url)
        self.day = day
        self.landing = landing
        self.warehouse_url = warehouse_url
        self.api_port = free_port()
        self.env = self._airflow_env()
        self.report.update(delivery_date=day.isoformat(),
                           through_date=self.opts.through and self.opts.through.isoformat(),
                           history_days=len(history) + (self.warm_day is not None),
                           warm_up_day=self.warm_day and self.warm_day.isoformat(),
                           preload=self.opts.preload, landing=landing, queue=self.queue,
                           timezone=self.opts.timezone, broker=self.opts.redis_url, metadata_db=self.meta_db,
                           warehouse=_hide_password(warehouse_url))

    def _load_history(self, days: list[date], landing: str, warehouse_url: str) -> None:
        """The warehouse as a daily run finds it: the days before the benchmarked one loaded and the
        marts built once (in this process, without Airflow; the dbt state the next build compares
        to is kept in the run's folder)."""
        from ugc_pipeline import transform
        from ugc_pipeline.pipeline import ingest_source
        from ugc_pipeline.settings import Settings
        from ugc_pipeline.sources import SOURCES

        t0 = time.monotonic()
        settings = Settings(landing_uri=landing, warehouse_url=warehouse_url, timezone=self.opts.timezone,
                            dbt_dir=str(self.run_dir / "dbt"))
        order = sorted(SOURCES, key=lambda n: not SOURCES[n].is_reference)
        for day in days:
            for name in order:
                ingest_source(name, day, settings, "history")
        transform.build_project(settings)
        say(f"history: {len(days)} delivery day(s) loaded and the marts built in {time.monotonic() - t0:.0f}s")

    def _airflow_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AIRFLOW__") and k not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
               and not k.startswith("UGC_")}
        pg = self.opts.pg
        venv_bin = Path(sys.executable).parent
        env.update({
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.run_dir / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor" if self.opts.executor == "local" else "CeleryExecutor",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "ugc_pipeline",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{self.api_port}/execution/",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": f"http://{LOOPBACK}:{self.api_port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url(self.meta_db, driver="psycopg2"),
            "AIRFLOW__CELERY__BROKER_URL": self.opts.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg.url(self.meta_db, driver=""),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.opts.concurrency),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # as scripts/airflow-standalone and the compose file (docs/DECISIONS.md, "Speed under the scheduler")
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
            "UGC_LANDING_URI": self.landing,
            **_warehouse_env(self.warehouse_url, decoy=f"duckdb:///{self.run_dir / 'not-the-warehouse.duckdb'}"),
            "UGC_TIMEZONE": self.opts.timezone,
            # dbt's artifacts and slim-build state: in the run's folder, not the project's data/
            "UGC_DBT_DIR": str(self.run_dir / "dbt"),
            # validation reports (GX Data Docs) of this run: in its folder, not the project's data/
            # (each worker gets a folder of its own below, as each worker container has its own disk)
            "UGC_GX_DIR": str(self.run_dir / "gx"),
            "UGC_PII_KEY": os.environ["UGC_PII_KEY"],  # set by main()
            # the HTML KPI report of the marts run: in its folder too
            "UGC_REPORT_DIR": str(self.run_dir / "report"),
        })
        if self.opts.executor == "local" and self.opts.preload:
            # the executor's workers start from a fork server that imported what the tasks need
            # (ugc_pipeline.task_preload): each task inherits GX, pandas, DuckDB, dbt, Cosmos
            env["AIRFLOW__SCHEDULER__MP_START_METHOD"] = "forkserver"
            env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"] = "ugc_pipeline.task_preload"
        return env

    def airflow(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
        cmd = [str(Path(sys.executable).with_name("airflow")), *args]
        try:
            done = subprocess.run(cmd, env=env or self.env, cwd=PROJECT_DIR, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=self.deadline.budget(timeout),
                                  start_new_session=True)
        except subprocess.TimeoutExpired:
            raise RunFailed(f"`airflow {' '.join(args)}` timed out") from None
        if done.returncode != 0:
            raise RunFailed(f"`airflow {' '.join(args)}` failed ({done.returncode}):\n"
                            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start_stack(self) -> None:
        t0 = time.monotonic()
        self.airflow("db", "migrate", timeout=600)
        say(f"metadata DB migrated ({time.monotonic() - t0:.0f}s)")
        self.airflow("pools", "set", "ugc_warehouse", str(self.opts.pool_slots),
                     "Tasks that write the UGC warehouse (PostgreSQL: concurrent writers)")
        say(f"pool ugc_warehouse: {self.opts.pool_slots} slots")
        bin_airflow = str(Path(sys.executable).with_name("airflow"))
        self.processes.start("api-server", [bin_airflow, "api-server", "--apps", "execution", "--host", LOOPBACK,
                                            "--port", str(self.api_port), "--workers", "1"], self.env)
        self.processes.start("scheduler", [bin_airflow, "scheduler", "--skip-serve-logs"], self.env)
        self.processes.start("dag-processor", [bin_airflow, "dag-processor"], self.env)
        self.worker_names = [] if self.opts.executor == "local" else [
            f"ugc-worker-{n}" for n in range(1, self.opts.workers + 1)]
        for name in self.worker_names:
            env = dict(self.env)
            env[WORKER_NAME_ENV] = name
            env["UGC_GX_DIR"] = str(self.run_dir / "gx" / name)
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "celery_local.worker_hostname"
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent), env.get("PYTHONPATH")) if p)
            self.processes.start(name, [bin_airflow, "celery", "worker", "--celery-hostname", f"{name}@{self.token}",
                                        "--queues", self.queue, "--concurrency", str(self.opts.concurrency),
                                        "--skip-serve-logs", "--without-gossip", "--without-mingle"], env)
        self._wait_for_api_server()
        self._wait_for_workers()
        say(f"stack up ({time.monotonic() - t0:.0f}s with the migration): api-server on {LOOPBACK}:{self.api_port}, "
            f"scheduler, dag-processor, " + (f"{len(self.worker_names)} Celery workers on queue {self.queue}"
                                              if self.worker_names else "LocalExecutor"))

    def _wait_for_api_server(self) -> None:
        import urllib.request

        url = f"http://{LOOPBACK}:{self.api_port}/execution/health"
        while True:
            self.deadline.check("waiting for the api-server")
            self.processes.check_alive()
            with suppress(OSError):
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            time.sleep(1)

    def _wait_for_workers(self) -> None:
        pending = {s.name: s for s in self.processes.services if s.name in self.worker_names}
        while pending:
            self.deadline.check(f"waiting for {', '.join(pending)} to be ready")
            self.processes.check_alive()
            for name, service in list(pending.items()):
                if " ready." in service.log.read_text(errors="replace"):
                    del pending[name]
            time.sleep(1)

    # -- the DAG runs ----------------------------------------------------------------------------
    def meta(self, sql: str, params: dict | tuple | None = None) -> list[dict[str, Any]]:
        return self.opts.pg.query(self.meta_db, sql, params)

    def wait_for_dags(self) -> datetime:
        """Until the dag-processor has stored both DAGs; returns ugc_ingest's next scheduled logical date."""
        while True:
            self.deadline.check("waiting for the dag-processor to parse the DAGs")
            self.processes.check_alive()
            errors = self.meta("select filename, stacktrace from import_error")
            if errors:
                raise RunFailed("DAG import errors:\n" + "\n".join(f"{e['filename']}: {e['stacktrace']}" for e in errors))
            rows = {r["dag_id"]: r for r in self.meta(
                "select dag_id, next_dagrun from dag where dag_id = any(%(ids)s) and not is_stale",
                {"ids": list(DAG_IDS)})}
            if set(rows) == set(DAG_IDS) and rows["ugc_ingest"]["next_dagrun"] is not None:
                return rows["ugc_ingest"]["next_dagrun"]
            time.sleep(1)

    def trigger(self, next_logical: datetime, day: date | None = None, through: date | None = None,
                label: str = "celery_local") -> str:
        """Trigger a ugc_ingest run for a delivery day; on the first trigger, unpause both DAGs.

        The run is triggered for the logical date of the DAG's next scheduled interval, with the
        day to process in the ``delivery_date`` param (the documented way to reprocess a day):
        the scheduler then sees that interval's run exists and creates no scheduled run of its
        own when the DAG is unpaused (it moves the DAG's next interval on instead), so this is the
        only ugc_ingest run. After the warm-up the DAGs are already unpaused: the measured run is
        triggered the same way, for the next interval, which is not due yet."""
        day = day or self.day
        run_id = f"{label}__{day.isoformat()}__{self.token}"
        conf = {"delivery_date": day.isoformat()}
        if through:  # a backfill: every day up to --through in this one run
            conf["through_date"] = through.isoformat()
        self.airflow("dags", "trigger", "ugc_ingest", "--run-id", run_id, "--logical-date", next_logical.isoformat(),
                     "--conf", json.dumps(conf))
        if not self.unpaused:
            self.airflow("dags", "unpause", "ugc_marts")
            self.airflow("dags", "unpause", "ugc_ingest")
            self.unpaused = True
            how = "and unpaused both DAGs"
        else:
            how = "(both DAGs unpaused and parsed before)"
        say(f"triggered ugc_ingest run {run_id} for delivery day {day}"
            + (f" through {through}" if through else "") + f" {how}")
        return run_id

    def next_interval(self, after: datetime) -> datetime:
        """ugc_ingest's next scheduled logical date once the scheduler has moved it past ``after``."""
        while True:
            self.deadline.check("waiting for the scheduler to move ugc_ingest's next interval on")
            rows = self.meta("select next_dagrun from dag where dag_id = 'ugc_ingest'")
            if rows and rows[0]["next_dagrun"] is not None and rows[0]["next_dagrun"] > after:
                return rows[0]["next_dagrun"]
            time.sleep(0.5)

    def warm_up(self, next_logical: datetime) -> datetime:
        """A day in steady state: the scheduler has run the previous day, so the DAGs are unpaused
        and parsed, the executor's workers and their fork server are up with the modules imported.
        Runs the last history day through the scheduler (ugc_ingest, then the asset-triggered
        ugc_marts, which builds the marts the history needs), not timed; returns ugc_ingest's next
        logical date for the measured run."""
        t0 = time.monotonic()
        run_id = self.trigger(next_logical, day=self.warm_day, label="celery_local_warm_up")
        queued = self.meta("select queued_at from dag_run where run_id = %(r)s", {"r": run_id})[0]["queued_at"]
        ingest = self.wait_for_run("ugc_ingest", run_id)
        marts = self.wait_for_marts_run(after=queued) if ingest["state"] == "success" else None
        if ingest["state"] != "success" or not marts or marts["state"] != "success":
            self._show_failed_logs()
            raise RunFailed(f"warm-up day {self.warm_day}: ugc_ingest {ingest['state']}, ugc_marts "
                            f"{marts['state'] if marts else 'not run'}")
        first = self.meta("select min(start_date) as t from task_instance where run_id = %(r)s", {"r": run_id})[0]["t"]
        self.report["warm_up"] = {
            "day": self.warm_day.isoformat(),
            "trigger_to_marts_s": round((marts["end_date"] - queued).total_seconds(), 1),
            "trigger_to_first_task_s": round((first - queued).total_seconds(), 1),
        }
        say(f"warm-up day {self.warm_day} through the scheduler: trigger to marts "
            f"{self.report['warm_up']['trigger_to_marts_s']}s, first task started "
            f"{self.report['warm_up']['trigger_to_first_task_s']}s after the trigger ({time.monotonic() - t0:.0f}s)")
        return self.next_interval(after=next_logical)

    def wait_for_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        last = None
        while True:
            self.deadline.check(f"waiting for {dag_id} run {run_id}")
            self.processes.check_alive()
            run = self.meta("select * from dag_run where dag_id = %(d)s and run_id = %(r)s", {"d": dag_id, "r": run_id})[0]
            states = self.meta("select state, count(*) as n from task_instance where dag_id = %(d)s and run_id = %(r)s "
                               "group by state order by state", {"d": dag_id, "r": run_id})
            summary = ", ".join(f"{s['state'] or 'none'}={s['n']}" for s in states)
            if summary != last:
                say(f"{dag_id}: run {run['state']}; tasks {summary}")
                last = summary
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)

    def wait_for_marts_run(self, after: datetime) -> dict[str, Any]:
        while True:
            self.deadline.check("waiting for the asset-triggered ugc_marts run")
            self.processes.check_alive()
            runs = self.meta("select run_id from dag_run where dag_id = 'ugc_marts' and run_type = 'asset_triggered' "
                             "and queued_at >= %(t)s order by queued_at", {"t": after})
            if runs:
                say(f"the scheduler created ugc_marts run {runs[0]['run_id']} from the staging asset")
                return self.wait_for_run("ugc_marts", runs[0]["run_id"])
            time.sleep(2)

    def stack_cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each started service's process group (the scheduler's holds
        the executor's fork server, its workers and every task process they ran), counting the
        processes alive now and the children they have reaped. On a shared machine the CPU a run
        costs says more than its wall seconds."""
        tick = os.sysconf("SC_CLK_TCK")
        groups = {s.process.pid: s.name for s in self.processes.services}
        used: dict[str, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # after the command: state ppid pgrp ... utime(14) stime(15) cutime(16) cstime(17)
            name = groups.get(int(fields[2]))
            if name:  # the leader itself, and what it started (the scheduler's: executor workers, tasks)
                key = name if int(stat.parent.name) == int(fields[2]) else f"{name} children"
                used[key] = used.get(key, 0.0) + sum(int(f) for f in fields[11:15]) / tick
        return used

    # -- what happened ---------------------------------------------------------------------------
    def task_table(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        rows = self.meta("select task_id, state, hostname, queue, pool, try_number, queued_dttm, start_date, end_date "
                         "from task_instance where dag_id = %(d)s and run_id = %(r)s order by start_date nulls last, "
                         "task_id", {"d": dag_id, "r": run_id})
        return [{"dag_id": dag_id, **r} for r in rows]

    def describe(self, ingest_run: dict, marts_run: dict | None) -> None:
        tasks = self.task_table("ugc_ingest", ingest_run["run_id"])
        if marts_run:
            tasks += self.task_table("ugc_marts", marts_run["run_id"])
        t0 = min((t["start_date"] for t in tasks if t["start_date"]), default=None)
        self._data_work(tasks, ingest_run["run_id"], marts_run)
        print()
        print(f"{'task':<42} {'worker':<14} {'state':<10} {'try':>3} {'start':>7} {'waited':>6} {'took':>6} "
              f"{'work':>6}")
        for t in tasks:
            start = f"+{(t['start_date'] - t0).total_seconds():.1f}s" if t["start_date"] and t0 else "-"
            took = f"{(t['end_date'] - t['start_date']).total_seconds():.1f}s" if t["start_date"] and t["end_date"] else "-"
            waited = (f"{(t['start_date'] - t['queued_dttm']).total_seconds():.1f}s"
                      if t["start_date"] and t.get("queued_dttm") else "-")
            print(f"{t['dag_id'] + '.' + t['task_id']:<42} {t['hostname'] or '-':<14} {t['state'] or '-':<10} "
                  f"{t['try_number']:>3} {start:>7} {waited:>6} {took:>6} "
                  f"{(str(t['work_s']) + 's') if t.get('work_s') else '-':>6}")
        ingest = [t for t in tasks if t["dag_id"] == "ugc_ingest" and t["task_id"].startswith("ingest_")]
        by_worker: dict[str, int] = {}
        for t in ingest:
            if t["hostname"]:
                by_worker[t["hostname"]] = by_worker.get(t["hostname"], 0) + 1
        overlap = _max_overlap([(t["start_date"], t["end_date"]) for t in ingest if t["start_date"] and t["end_date"]])
        print()
        say(f"source tasks per worker: {', '.join(f'{w}={n}' for w, n in sorted(by_worker.items())) or 'none'}; "
            f"at most {overlap} source tasks ran at the same time")
        self.report.update(
            tasks=[{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in t.items()} for t in tasks],
            source_tasks_per_worker=by_worker, max_parallel_source_tasks=overlap,
            workers=self.worker_names)

    def _data_work(self, tasks: list[dict[str, Any]], ingest_run_id: str, marts_run: dict | None) -> None:
        """Each task's time apart from Airflow's own: the seconds the pipeline itself measured
        (a source's run record, from its start to its end: parse, validate, load; ``dbt_build``'s dbt
        command from its XCom; the model and other tasks do no data work worth timing), the rest
        being the task process's start-up (fork, DAG parse, imports, API calls) and its end."""
        from ugc_pipeline import warehouse

        work: dict[tuple[str, str], float] = {}
        engine = warehouse.create_warehouse_engine(self.warehouse_url)
        try:
            runs = warehouse.query_frame(
                engine, "select source, extract(epoch from (max(finished_at) - min(started_at))) as seconds "
                        "from audit.pipeline_runs where run_id = :r and finished_at is not null group by source",
                {"r": ingest_run_id})
        finally:
            engine.dispose()
        # a backfill task writes one run record per day, the days of a chunk started together: its
        # data work is the span from its first record's start to its last one's end
        for r in runs.itertuples():
            work[("ugc_ingest", f"ingest_{r.source}")] = float(r.seconds or 0)
        if marts_run:
            for row in self.meta("select value from xcom where dag_id = 'ugc_marts' and task_id = 'dbt_build' "
                                 "and run_id = %(r)s and key = 'return_value'", {"r": marts_run["run_id"]}):
                value = row["value"] if isinstance(row["value"], dict) else json.loads(row["value"])
                work[("ugc_marts", "dbt_build")] = float(value.get("seconds") or 0)
        overheads = []
        for t in tasks:
            if not (t["start_date"] and t["end_date"]):
                continue
            took = (t["end_date"] - t["start_date"]).total_seconds()
            t["work_s"] = round(work.get((t["dag_id"], t["task_id"]), 0.0), 2)
            t["airflow_s"] = round(took - t["work_s"], 2)
            overheads.append(t["airflow_s"])
        if overheads:
            overheads.sort()
            self.report["airflow_per_task_s"] = {"median": overheads[len(overheads) // 2], "max": overheads[-1],
                                                 "total": round(sum(overheads), 1)}
            self.report["data_work_s"] = round(sum(work.values()), 1)
            say(f"task time apart from the data work (Airflow start-up and end of each task process): median "
                f"{overheads[len(overheads) // 2]:.1f}s, max {overheads[-1]:.1f}s, {sum(overheads):.1f}s over "
                f"{len(overheads)} tasks; data work {sum(work.values()):.1f}s")

    def inspect_warehouse(self) -> None:
        from ugc_pipeline import catalog, warehouse

        engine = warehouse.create_warehouse_engine(self.warehouse_url)
        try:
            counts = {}
            for spec in catalog.mart_specs():
                counts[spec.qualified] = int(warehouse.query_frame(
                    engine, f"select count(*) as n from {spec.qualified}")["n"].iloc[0])
            runs = warehouse.query_frame(  # the last attempt of each source
                engine, "select source, status, records_read, records_loaded, records_rejected from ("
                        "  select *, row_number() over (partition by source order by started_at desc) as n"
                        "  from audit.pipeline_runs) as r where n = 1 order by source")
        finally:
            engine.dispose()
        say("marts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        loaded = runs[runs.status == "success"]
        others = runs[runs.status != "success"]
        say(f"audit.pipeline_runs: {len(loaded)} sources loaded ({int(loaded.records_loaded.sum())} records, "
            f"{int(loaded.records_rejected.sum())} rejected); "
            f"{', '.join(sorted(others.source + '=' + others.status)) or 'no other status'}")
        self.report.update(marts=counts, pipeline_runs=json.loads(runs.to_json(orient="records")))

    # -- all of it -------------------------------------------------------------------------------
    def run(self) -> int:
        started = time.monotonic()
        try:
            self.preflight()
            self.prepare()
            self.start_stack()
            next_logical = self.wait_for_dags()
            if self.warm_day:
                next_logical = self.warm_up(next_logical)
            cpu_before = self.stack_cpu()
            run_id = self.trigger(next_logical, through=self.opts.through)
            triggered_at = self.meta("select queued_at from dag_run where run_id = %(r)s", {"r": run_id})[0]["queued_at"]
            ingest_run = self.wait_for_run("ugc_ingest", run_id)
            marts_run = None
            if ingest_run["state"] == "success":
                marts_run = self.wait_for_marts_run(after=triggered_at)
            self.report["stack_cpu_s"] = _cpu_delta(cpu_before, self.stack_cpu())
            self.describe(ingest_run, marts_run)
            self.report.update(ingest_run={"run_id": run_id, "state": ingest_run["state"]},
                               marts_run=marts_run and {"run_id": marts_run["run_id"], "state": marts_run["state"]})
            if ingest_run["state"] != "success" or not marts_run or marts_run["state"] != "success":
                self._show_failed_logs()
                raise RunFailed(f"ugc_ingest {ingest_run['state']}, ugc_marts "
                                f"{marts_run['state'] if marts_run else 'not run'}")
            self.inspect_warehouse()
            self.report["trigger_to_marts_s"] = round((marts_run["end_date"] - triggered_at).total_seconds(), 1)
            self.report["ingest_run_s"] = round((ingest_run["end_date"] - triggered_at).total_seconds(), 1)
            self.report["marts_run_s"] = round((marts_run["end_date"] - marts_run["queued_at"]).total_seconds(), 1)
            tasks = [t for t in self.report.get("tasks", []) if t.get("start_date") and t.get("end_date")]
            self.report["task_seconds_total"] = round(sum(
                (datetime.fromisoformat(t["end_date"]) - datetime.fromisoformat(t["start_date"])).total_seconds()
                for t in tasks), 1)
            first = min(datetime.fromisoformat(t["start_date"]) for t in tasks if t["dag_id"] == "ugc_ingest")
            self.report["trigger_to_first_task_s"] = round((first - triggered_at).total_seconds(), 1)
            cpu = self.report["stack_cpu_s"]
            say(f"CPU of the Airflow processes during the run: {cpu['total']}s ("
                + ", ".join(f"{k} {v}s" for k, v in cpu.items() if k != "total") + "); first task started "
                f"{self.report['trigger_to_first_task_s']}s after the trigger")
            say(f"trigger to rebuilt marts: {self.report['trigger_to_marts_s']}s (ugc_ingest "
                f"{self.report['ingest_run_s']}s, ugc_marts {self.report['marts_run_s']}s from its queueing; "
                f"{len(tasks)} tasks, {self.report['task_seconds_total']}s of task time)")
            self.report["ok"] = True
            say("OK: ugc_ingest and ugc_marts succeeded on " + (
                f"{len(self.worker_names)} Celery workers" if self.worker_names else "the LocalExecutor")
                + f" ({time.monotonic() - started:.0f}s)")
            return EXIT_OK
        except ServiceUnavailable as exc:
            self.report["error"] = str(exc)
            say(f"SERVICE UNAVAILABLE: {exc}")
            return EXIT_SERVICES
        except RunFailed as exc:
            self.report["error"] = str(exc)
            say(f"FAILED: {exc}")
            return EXIT_FAILED
        finally:
            self.report["seconds"] = round(time.monotonic() - started, 1)
            self.cleanup()
            if self.opts.report:
                # the throwaway run folder is this machine's: the report names it "<run folder>"
                text = json.dumps(self.report, indent=2, default=str).replace(str(self.run_dir), "<run folder>")
                self.opts.report.write_text(text + "\n")

    def _show_failed_logs(self) -> None:
        logs = sorted((self.run_dir / "airflow" / "logs").rglob("*.log")) if (self.run_dir / "airflow").exists() else []
        for log in logs:
            text = log.read_text(errors="replace")
            if '"level":"error"' in text.replace(" ", "") or "Traceback" in text or "ERROR" in text:
                say(f"task log {log.relative_to(self.run_dir)}:\n{tail(log, 25)}")

    def cleanup(self) -> None:
        say("stopping every process this script started ...")
        with _ignoring_signals():
            killed = self.processes.stop()
            if killed:
                say(f"had to SIGKILL: {', '.join(killed)}")
            for name in self.created_dbs:
                try:
                    self.opts.pg.drop_database(name)
                except Exception as exc:  # report and go on cleaning
                    say(f"WARNING: could not drop database {name}: {exc}")
            if self.created_dbs:
                say(f"dropped databases {', '.join(self.created_dbs)}")
            try:
                if self.opts.executor != "local":
                    removed = redis_cleanup(self.opts.redis_url, self.token)
                    say(f"removed {removed} Redis key(s)/binding(s) of queue {self.queue}")
            except Exception as exc:
                say(f"WARNING: could not clean Redis: {exc}")
            if self.opts.keep:
                say(f"kept {self.run_dir} (logs, AIRFLOW_HOME)")
            else:
                shutil.rmtree(self.run_dir, ignore_errors=True)


def _cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    # over both key sets: a child that ended between the two moved into its parent's count
    delta = {name: round(after.get(name, 0.0) - before.get(name, 0.0), 1) for name in {**before, **after}}
    return {**dict(sorted(delta.items())), "total": round(sum(after.values()) - sum(before.values()), 1)}


class ServiceUnavailable(Exception):
    pass


class UsageError(Exception):
    pass


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def _warehouse_env(url: str, decoy: str) -> dict[str, str]:
    """How the Airflow processes get the warehouse: a PostgreSQL one as the Airflow connection
    ``ugc_warehouse`` (``AIRFLOW_CONN_UGC_WAREHOUSE``, what the compose deployment does; the tasks
    read it with the Postgres provider's hook), with ``UGC_WAREHOUSE_URL`` a decoy in the run's
    folder that no task may write; a DuckDB file (LocalExecutor only) as the URL."""
    import json

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return {"UGC_WAREHOUSE_URL": url}
    return {"UGC_WAREHOUSE_URL": decoy, "AIRFLOW_CONN_UGC_WAREHOUSE": json.dumps({
        "conn_type": "postgres", "host": parsed.host, "port": parsed.port, "login": parsed.username,
        "password": parsed.password, "schema": parsed.database,
        "extra": {k: v for k, v in parsed.query.items() if isinstance(v, str)}})}


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _ignoring_signals() -> Iterator[None]:
    """Cleanup must finish even if Ctrl-C is pressed again."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.alarm(0)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _raise_interrupted(signum, _frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/celery-local",
        description="Run ugc_ingest (+ the asset-triggered ugc_marts) for one delivery day with CeleryExecutor, "
                    "two Celery workers, Redis and PostgreSQL on this machine, then tear everything down.")
    parser.add_argument("--day", type=date.fromisoformat,
                        help="delivery day YYYY-MM-DD (default: the sample's first delivery day, 2025-05-04)")
    parser.add_argument("--landing", help="landing zone (path or fsspec URI); default: the sample landing zone, "
                                          "written to the run's temporary folder")
    parser.add_argument("--warehouse-url", help="SQLAlchemy URL of a PostgreSQL warehouse to use (kept); default: "
                                                "a throwaway database, dropped at the end")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers to start (default 2)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="task slots per worker (default 1: tasks running side by side on one worker share "
                             "its GX folder, which great_expectations' file mode does not support)")
    parser.add_argument("--pool-slots", type=int, default=4, help="slots of the ugc_warehouse pool (default 4)")
    parser.add_argument("--timezone", default=os.environ.get("UGC_TIMEZONE") or "Europe/Paris",
                        help="UGC_TIMEZONE (default: $UGC_TIMEZONE or Europe/Paris)")
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"),
                        help="PostgreSQL role allowed to create databases (default: $PGUSER or postgres; "
                             "the password, if any, from $PGPASSWORD)")
    parser.add_argument("--redis-url", default=f"redis://{LOOPBACK}:6379/11",
                        help="Celery broker: a Redis database for this script (default redis://127.0.0.1:6379/11)")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    parser.add_argument("--report", type=Path, help="write a JSON report of the run to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, AIRFLOW_HOME)")
    parser.add_argument("--executor", choices=("celery", "local"), default="celery",
                        help="local: the LocalExecutor on a DuckDB warehouse with a 1-slot pool, as `make airflow-ui` "
                             "runs it (the scheduler benchmark: trigger to rebuilt marts, per-task times)")
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="local: start the executor's workers without the fork server that preloads "
                             "ugc_pipeline.task_preload (to measure what it saves)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="local, with --history: load every history day in this process and trigger the "
                             "measured day on a scheduler that has run nothing yet (by default the last history "
                             "day runs through the scheduler first, untimed, as the day before in steady state)")
    parser.add_argument("--sample-days", type=int, default=3,
                        help="delivery days of the generated sample landing zone (default 3; 365 for a year)")
    parser.add_argument("--history", type=int, default=0,
                        help="load the sample's first N days and build the marts before the timed run (in this "
                             "process), which then processes the next day, as a day in steady state")
    parser.add_argument("--through", type=date.fromisoformat,
                        help="backfill: the run processes every day from --day (or the first after the history) "
                             "to this one (ugc_ingest's through_date), then the marts once")
    args = parser.parse_args(argv)
    if args.executor == "local":
        args.pool_slots = 1  # DuckDB: one writing process
    if args.history and (args.landing or args.history >= args.sample_days):
        parser.error("--history N needs the generated sample (no --landing) with more than N --sample-days")
    if args.workers < 1 or args.concurrency < 1 or args.pool_slots < 1:
        parser.error("--workers, --concurrency and --pool-slots must be at least 1")
    if args.warehouse_url and not args.warehouse_url.startswith("postgresql") and args.executor != "local":
        parser.error("--warehouse-url must be a PostgreSQL URL: DuckDB allows one writing process, "
                     "and Celery workers are several processes")
    for host in (args.pg_host, args.redis_url):
        if LOOPBACK not in host and "localhost" not in host:
            parser.error(f"{host}: this script only talks to services on {LOOPBACK}")
    return Options(day=args.day, landing=args.landing, warehouse_url=args.warehouse_url, workers=args.workers,
                   concurrency=args.concurrency, pool_slots=args.pool_slots, timezone=args.timezone,
                   pg=Postgres(args.pg_host, args.pg_port, args.pg_user), redis_url=args.redis_url,
                   timeout=args.timeout, report=args.report, keep=args.keep, executor=args.executor,
                   preload=args.preload, sample_days=args.sample_days, history=args.history,
                   through=args.through, warm_up=args.warm_up)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, _raise_interrupted)
    # Hard backstop: the deadline is checked in every wait; this fires only if a call hangs.
    signal.alarm(int(opts.timeout) + 120)
    # The pseudonymisation key of the run's throwaway warehouse (README "Erasing a person"): the
    # caller's, else a fresh one; the same for this process (history) and every Airflow worker.
    os.environ.setdefault("UGC_PII_KEY", secrets.token_hex(32))
    runner = CeleryLocal(opts)
    try:
        return runner.run()
    except UsageError as exc:
        say(f"usage: {exc}")
        return EXIT_USAGE
    except Interrupted as exc:
        say(f"interrupted ({exc}); cleaned up")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
