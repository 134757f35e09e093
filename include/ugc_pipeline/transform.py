"""The SQL layer is the dbt project in ``sql/``; this module runs it on the pipeline's warehouse.

The dbt profile is made from the same warehouse as everything else (inside Airflow the
``ugc_warehouse`` connection when it exists, else ``UGC_WAREHOUSE_URL``): ``profile_for`` turns
its SQLAlchemy URL into a dbt-duckdb or dbt-postgres target. The profile written to disk never
holds a secret: the password is read by dbt from ``DBT_ENV_SECRET_UGC_WAREHOUSE_PASSWORD`` (dbt
scrubs ``DBT_ENV_SECRET_*`` values from its logs), which ``dbt_env`` sets for the dbt process only.

``run_dbt`` invokes dbt in this process (``dbtRunner``): a marts run pays dbt's start-up once,
not once per model. ``build_marts`` is the marts step the DAGs and the CLI run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from ugc_pipeline.catalog import PROJECT_DIR

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_DIR / "sql"
PROFILE_NAME = "ugc_kpi"
TARGET_NAME = "warehouse"
PASSWORD_ENV = "DBT_ENV_SECRET_UGC_WAREHOUSE_PASSWORD"
# dbt threads: PostgreSQL builds independent models side by side; DuckDB parallelises inside
# each query, and its one file has one writer, so its models run one after another.
POSTGRES_THREADS = 4
DUCKDB_THREADS = 1
# DuckDB's memory limit for the dbt build (DuckDB's default is 80% of the machine's RAM): beyond
# it, DuckDB spills to the warehouse's temporary folder. The marts step of a 1M-review day peaked
# at 0.96 GB without it (issue #10, goal 3: bounded memory).
DUCKDB_MEMORY_LIMIT = "512MiB"
# libpq parameters that dbt-postgres takes as profile fields.
_PG_FIELDS = {"sslmode": "sslmode", "sslcert": "sslcert", "sslkey": "sslkey", "sslrootcert": "sslrootcert",
              "connect_timeout": "connect_timeout", "application_name": "application_name",
              "keepalives_idle": "keepalives_idle"}


class DbtError(RuntimeError):
    """A dbt command failed; the message names the failed models and tests."""


def profile_for(url: str) -> tuple[dict, dict[str, str]]:
    """(dbt target, environment it needs) for a warehouse URL (inside Airflow, the URL of the
    warehouse connection: ``ugc_pipeline.connections``)."""
    from ugc_pipeline.warehouse import DEFAULT_CONNECT_TIMEOUT

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        database = parsed.database or ":memory:"
        path = database if database == ":memory:" else str(Path(database).expanduser().resolve())
        return {"type": "duckdb", "path": path, "schema": "main", "threads": DUCKDB_THREADS,
                "settings": {"TimeZone": "UTC", "memory_limit": DUCKDB_MEMORY_LIMIT},
                "retries": {"connect_attempts": _duckdb_connect_attempts()}}, {}
    if backend in ("postgresql", "postgres"):
        target = {"type": "postgres", "host": parsed.host or "localhost", "port": parsed.port or 5432,
                  "user": parsed.username or "", "dbname": parsed.database or "", "schema": "public",
                  "threads": POSTGRES_THREADS, "connect_timeout": DEFAULT_CONNECT_TIMEOUT,
                  "password": f"{{{{ env_var('{PASSWORD_ENV}', '') }}}}"}
        for key, name in _PG_FIELDS.items():
            if key in parsed.query:
                value = parsed.query[key]
                target[name] = int(value) if name in ("connect_timeout", "keepalives_idle") else value
        password = parsed.password or parsed.query.get("password") or ""
        return target, {PASSWORD_ENV: str(password)}
    raise ValueError(f"no dbt adapter for a {backend} warehouse (DuckDB and PostgreSQL are supported)")


def _duckdb_connect_attempts() -> int:
    """dbt-duckdb's attempts at opening a DuckDB file another process holds (an ingest task
    writing its day): it sleeps 1, 2, 4, ... s between them, so this many attempts wait about
    ``UGC_LOCK_WAIT_SECONDS``, as the pipeline's own connections do."""
    from ugc_pipeline.warehouse import lock_wait_seconds

    return max(1, math.ceil(math.log2(lock_wait_seconds() + 1)))


def write_profiles(directory: Path, url: str) -> dict[str, str]:
    """Write ``profiles.yml`` for ``url`` into ``directory``; return the environment dbt needs."""
    target, env = profile_for(url)
    directory.mkdir(parents=True, exist_ok=True)
    profile = {PROFILE_NAME: {"target": TARGET_NAME, "outputs": {TARGET_NAME: target}}}
    (directory / "profiles.yml").write_text(
        "# Written by ugc_pipeline.transform from UGC_WAREHOUSE_URL; the password is read from the\n"
        f"# environment ({PASSWORD_ENV}), never written here.\n" + yaml.safe_dump(profile, sort_keys=False),
        encoding="utf-8")
    return env


def dbt_vars(timezone: str) -> dict:
    return {"kpi_timezone": timezone}


def verdict_vars(settings) -> dict:
    """The "too little data" thresholds of the analyst marts' verdicts, as the dbt vars
    ``min_sessions``, ``min_orders``, ``min_stores_per_arm`` (``sql/macros/intervals.sql``)."""
    return {"min_sessions": settings.min_sessions, "min_orders": settings.min_orders,
            "min_stores_per_arm": settings.min_stores_per_arm}


@dataclass
class DbtRun:
    """What one dbt command did."""

    command: str
    success: bool
    seconds: float
    # node unique id -> (status, rows affected or failures, message), in execution order
    nodes: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)
    # test unique id -> the nodes it tests (one for most, two for a relationships test)
    parents: dict[str, list[str]] = field(default_factory=dict)
    # what a listing command printed (dbt ls: one line a node)
    output: list[str] = field(default_factory=list)

    def failed(self) -> list[str]:
        return [f"{uid.split('.', 2)[-1]}: {status}: {message}" for uid, (status, _, message) in self.nodes.items()
                if status in ("error", "fail", "runtime error", "skipped")]


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Parsed projects, by what the parse depends on (see _parsed): dbt's documented way to pay the
# parse once per process (dbtRunner(manifest=...)) when one process runs dbt many times.
_MANIFESTS: dict[tuple, object] = {}


def _project_fingerprint(project: Path) -> tuple:
    return (str(project), *sorted((str(p.relative_to(project)), p.stat().st_mtime_ns, p.stat().st_size)
                                  for p in project.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".yaml")
                                  and not {"target", "logs", "dbt_packages"} & set(p.relative_to(project).parts)))


def _manifest_key(target: dict, variables: Mapping, project: Path) -> tuple:
    # the relation names a parse bakes in: DuckDB's catalog is the file's stem
    where = Path(target["path"]).stem if target["type"] == "duckdb" else target.get("dbname")
    return (target["type"], where, target.get("schema"), json.dumps(dict(variables), sort_keys=True),
            _project_fingerprint(project))


def _cheaper_behavior_flags() -> None:
    """Give dbt-common's behavior flags their default source without ``inspect.stack()``.

    Each time dbt registers an adapter (every command: once to parse, once to run), each of the
    adapter's behavior flags evaluates ``BehaviorFlagRendered._default_source()``, even when the
    flag names its source (``flag.get("source", self._default_source())``, dbt-common 1.39, the
    latest). That walks ``inspect.stack()``, which reads the source lines of every frame and, for
    a frame without a file of its own (pytest-xdist runs the tests from ``exec``'d code), looks
    the frame's module up by scanning every module loaded (thousands, once Airflow is imported):
    10% of the test suite's CPU in a py-spy profile (2026-12-06, docs/BENCHMARKS.md).
    The same answer, the name of the first module up the stack other than dbt-common's own, is in
    the frames' globals. Idempotent; a dbt-common without that method is left as it is."""
    try:
        from dbt_common import behavior_flags
    except ImportError:
        return
    rendered = getattr(behavior_flags, "BehaviorFlagRendered", None)
    if rendered is None or not hasattr(rendered, "_default_source") or hasattr(rendered, "_inspect_default_source"):
        return  # not there, or replaced already

    def _default_source() -> str:
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name and name != behavior_flags.__name__:
                return name
            frame = frame.f_back
        return "Unknown"

    rendered._inspect_default_source = staticmethod(rendered._default_source)  # dbt's own, kept for the test
    rendered._default_source = staticmethod(_default_source)


def run_dbt(url: str, args: Sequence[str], *, timezone: str, dbt_dir: str | Path | None = None,
            extra_vars: Mapping | None = None, raise_on_failure: bool = True,
            project_dir: Path = DBT_PROJECT_DIR) -> DbtRun:
    """Run one dbt command (``["build"]``, ``["docs", "generate"]``...) on the warehouse ``url``.

    ``project_dir`` is the dbt project (``sql/``; another one in tests of upgrades).
    ``dbt_dir`` receives ``target/`` (manifest, run results, docs site) and ``logs/``; None = a
    temporary folder, removed afterwards. Raises ``DbtError`` naming what failed unless
    ``raise_on_failure`` is False.
    """
    from dbt.cli.main import dbtRunner

    _cheaper_behavior_flags()
    keep = dbt_dir is not None and str(dbt_dir) != ""
    # absolute: dbt reads a relative --target-path from the project folder, not from here
    base = Path(dbt_dir).expanduser().resolve() if keep else Path(tempfile.mkdtemp(prefix="ugc-dbt-"))
    try:
        env = write_profiles(base / "profile", url)
        target, _ = profile_for(url)
        variables = {**dbt_vars(timezone), **(extra_vars or {})}
        common = ["--project-dir", str(project_dir), "--profiles-dir", str(base / "profile"),
                  "--target-path", str(base / "target"), "--log-path", str(base / "logs"),
                  "--vars", json.dumps(variables, sort_keys=True), "--quiet"]
        if not keep:
            # target/ and logs/ are deleted afterwards: no manifest.json and run_results.json to
            # write (the manifest's JSON alone is about a third of a small `dbt run`; the results
            # are read from the invocation's return value), and no debug log (a quarter of a
            # small build's CPU goes to formatting its lines)
            common += ["--no-write-json", "--log-level-file", "none"]
        t0 = time.perf_counter()
        with _one_dbt_at_a_time(url, target), _environment({**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
            key = _manifest_key(target, variables, Path(project_dir))
            manifest = _MANIFESTS.get(key)
            if manifest is None:
                parsed = dbtRunner().invoke(["parse", *common])
                if parsed.success:
                    manifest = _MANIFESTS[key] = parsed.result
            result = dbtRunner(manifest=manifest).invoke([*args, *common])
        run = DbtRun(" ".join(args), bool(result.success), time.perf_counter() - t0)
        for node in getattr(result.result, "results", None) or []:
            uid = node.node.unique_id
            affected = (node.adapter_response or {}).get("rows_affected") if hasattr(node, "adapter_response") else None
            run.nodes[uid] = (str(node.status), node.failures if node.failures is not None else affected,
                              (node.message or "").strip())
            if uid.startswith("test."):
                run.parents[uid] = sorted(n for n in node.node.depends_on.nodes if not n.startswith("source."))
        if isinstance(result.result, list):
            run.output = [str(line) for line in result.result]
        if result.exception is not None and not run.nodes:
            run.nodes["dbt"] = ("error", None, str(result.exception).strip().splitlines()[0]
                                if str(result.exception).strip() else type(result.exception).__name__)
        if not run.success and raise_on_failure:
            failed = run.failed() or [f"dbt {run.command} failed"]
            raise DbtError(f"dbt {run.command} failed: " + "; ".join(failed))
        return run
    finally:
        _release_duckdb()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


# The PostgreSQL advisory lock held for the whole of a dbt command: two dbt runs on one
# warehouse (a manual `make dbt` beside the scheduled marts run, two Celery workers) would
# collide on dbt's intermediate relations (<model>__dbt_tmp, __dbt_backup); the second waits.
DBT_LOCK = "dbt"


@contextlib.contextmanager
def _one_dbt_at_a_time(url: str, target: dict) -> Iterator[None]:
    """Hold the ``dbt`` advisory lock on PostgreSQL (its own connection) while dbt runs. DuckDB
    needs none: one process at a time opens the file for writing."""
    if target["type"] != "postgres":
        yield
        return
    from ugc_pipeline import dialects, warehouse

    engine = warehouse.create_warehouse_engine(url)
    try:
        with engine.connect() as conn, dialects.for_connection(conn).session_lock(conn, DBT_LOCK):
            yield
    finally:
        engine.dispose()


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command: the file
    is then free for the pipeline's own connections and for other processes (one writer)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:
        return
    with manager._LOCK:
        if manager._ENV is not None:
            try:
                manager._ENV.close()
            except Exception as exc:  # closing is best effort; the reference goes anyway
                log.debug("closing dbt-duckdb's connection: %s", exc)
            finally:
                manager._ENV = None


def build_project(settings, raise_on_failure: bool = True, project_dir: Path = DBT_PROJECT_DIR) -> DbtRun:
    """The marts run's dbt work on the settings' warehouse: ``dbt build`` (views, incremental
    marts, every dbt test), then ``dbt docs generate`` when ``settings.dbt_dir`` keeps the
    artifacts.

    With a kept ``dbt_dir``, the build after a successful one is *slim*: the views are built again
    only when their definition changed since (dbt's ``state:modified`` against the manifest of
    the last successful build on this warehouse, kept under ``dbt_dir/state/``), while every mart
    and every test runs as always. A view that is missing from the warehouse, or another
    warehouse, variables or dbt version, gives a full build."""
    from ugc_pipeline import warehouse

    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    warehouse.ensure_warehouse(engine)
    engine.dispose()
    state = _state_dir(settings)
    args = ["build"]
    if state is not None and _views_current(settings.warehouse_url, state):
        args += ["--select", "state:modified+", "config.materialized:incremental", "resource_type:test",
                 "--state", str(state)]
    run = run_dbt(settings.warehouse_url, args, timezone=settings.timezone, dbt_dir=settings.dbt_dir or None,
                  extra_vars=verdict_vars(settings), raise_on_failure=False, project_dir=project_dir)
    if len(args) > 1 and "dbt" in run.nodes:  # the saved state could not be used: a full build
        log.warning("slim dbt build failed before any model (%s): full build", run.nodes["dbt"][2])
        run = run_dbt(settings.warehouse_url, ["build"], timezone=settings.timezone,
                      dbt_dir=settings.dbt_dir or None, extra_vars=verdict_vars(settings), raise_on_failure=False,
                      project_dir=project_dir)
    if run.success and state is not None:
        state.mkdir(parents=True, exist_ok=True)
        manifest = Path(settings.dbt_dir).expanduser().resolve() / "target" / "manifest.json"
        shutil.copyfile(manifest, state / "manifest.json.tmp")
        os.replace(state / "manifest.json.tmp", state / "manifest.json")
    if not run.success and raise_on_failure:
        raise DbtError(f"dbt {run.command} failed: " + "; ".join(run.failed() or ["see the dbt log"]))
    if settings.dbt_dir and "dbt" not in run.nodes:
        run_dbt(settings.warehouse_url, ["docs", "generate", "--no-compile", "--static"], timezone=settings.timezone,
                dbt_dir=settings.dbt_dir, extra_vars=verdict_vars(settings), raise_on_failure=raise_on_failure,
                project_dir=project_dir)
    return run


def _state_dir(settings) -> Path | None:
    """Where the manifest of the last successful build on this warehouse is kept (None: no
    ``dbt_dir``). One folder per warehouse, variables and dbt version."""
    if not settings.dbt_dir:
        return None
    import hashlib

    from dbt.version import __version__ as dbt_version

    target, _ = profile_for(settings.warehouse_url)
    where = target.get("path") if target["type"] == "duckdb" else [target.get("host"), target.get("port"),
                                                                    target.get("dbname")]
    variables = {**dbt_vars(settings.timezone), **verdict_vars(settings)}
    key = json.dumps([target["type"], where, variables, dbt_version], sort_keys=True, default=str)
    return Path(settings.dbt_dir).expanduser().resolve() / "state" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _views_current(url: str, state: Path) -> bool:
    """Whether a slim build may skip the unchanged views: a saved manifest, whose every view
    exists in the warehouse."""
    manifest = state / "manifest.json"
    if not manifest.exists():
        return False
    from sqlalchemy import text

    from ugc_pipeline import warehouse

    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {}).values()
    views = {(n["schema"], n.get("alias") or n["name"]) for n in nodes
             if n.get("resource_type") == "model" and n.get("config", {}).get("materialized") == "view"}
    engine = warehouse.create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            present = set(conn.execute(text(
                "select table_schema, table_name from information_schema.tables where table_type = 'VIEW'")).all())
    finally:
        engine.dispose()
    return bool(views) and views <= {tuple(row) for row in present}


def build_marts(settings) -> dict[str, int]:
    """The marts step (``build_project``); returns the rows of each mart."""
    run = build_project(settings)
    counts = mart_counts(settings.warehouse_url)
    log.info("dbt %s in %.1fs (%d nodes): %s", run.command, run.seconds, len(run.nodes),
             ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def build_views(settings) -> DbtRun:
    """Only the staging and intermediate views (``dbt run --select staging intermediate``)."""
    from ugc_pipeline import warehouse

    engine = warehouse.create_warehouse_engine(settings.warehouse_url)
    warehouse.ensure_warehouse(engine)
    engine.dispose()
    return run_dbt(settings.warehouse_url, ["run", "--select", "staging", "intermediate"],
                   timezone=settings.timezone, dbt_dir=settings.dbt_dir or None, extra_vars=verdict_vars(settings))


def mart_counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from ugc_pipeline import catalog, warehouse

    engine = warehouse.create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            return {spec.qualified: conn.execute(text(f"select count(*) from {spec.qualified}")).scalar_one()
                    for spec in catalog.mart_specs()}
    finally:
        engine.dispose()
