"""Helpers of the crash tests: the warm worker that forks the task processes (``task_server.py``)
and its client, the landing zones, throwaway warehouses (DuckDB files, PostgreSQL databases) and
their copies, the phase a task process is in, and the before / after comparison.

A killed step must leave the warehouse in exactly one of two states, both taken from runs that
were not killed: *before* (the warehouse as it was before the step) or *after* (the same step
completed normally on a copy). Raw tables, marts and ``audit.rejected_records`` are compared
row by row, as multisets (``snapshot``), so a duplicated row is a difference too. An ingest step
is atomic as a whole (one transaction), so the whole warehouse is compared (``assert_state``).
The marts step (``dbt build``) is atomic per mart: each mart is its own dbt model, written in
its own transaction, so a kill between two marts leaves the earlier ones in their after state
and the later ones in their before state; there each mart must be exactly its before or its
after rows, never a mix, and every other table unchanged (``assert_mart_states``).
``audit.pipeline_runs`` is not compared: a killed task leaves its ``running`` row there (a later
attempt marks it ``abandoned``); the tests only check that no row of a killed attempt says
``success``.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
TASK_SERVER = HERE / "task_server.py"
TIMEZONE = "Europe/Paris"
# Columns that differ between two runs of the same data (as in tests/support/runs.py).
RUN_COLUMNS = {"run_id", "loaded_at", "rejected_at"}

# -- the landing zones ------------------------------------------------------------------------

# The sample campaign: its day before the campaign (business tables, history, backfills) and its
# first day. BASE_STEPS load from them what two marts need (conversion_daily, ugc_daily; the
# others stay empty, to keep the folder fast); the Yotpo delivery of CAMPAIGN_DAY is the one the
# crash tests redeliver, much bigger, from a second landing zone.
SNAPSHOT_DAY = date(2025, 5, 4)
CAMPAIGN_DAY = date(2025, 5, 5)
BASE_STEPS = [("products", SNAPSHOT_DAY), ("web_conversion", SNAPSHOT_DAY), ("yotpo_reviews", CAMPAIGN_DAY)]
KILLED_SOURCE = "yotpo_reviews"
# Size of the redelivery (it replaces the sample's 10 reviews of the day): its phases last long
# enough to be hit reliably (parse ~0.4 s, GX validation ~0.7 s, load ~40 ms of INSERT on DuckDB
# and ~0.2 s of COPY on PostgreSQL, commit and checkpoint ~50 ms on DuckDB), and the folder
# stays within its budget (a whole ingest is ~1.5 s of CPU).
REDELIVERY_REVIEWS = 12_000
REVIEWS_PER_PAGE = 500
REJECT_EVERY = 250  # one review in 250 has a score out of range: the redelivery quarantines some


@dataclass(frozen=True)
class Landings:
    base: Path  # the sample landing zone (read by BASE_STEPS)
    redelivery: Path  # only yotpo_reviews/CAMPAIGN_DAY: the big re-export the killed tasks load

    @property
    def redelivery_folder(self) -> Path:
        return self.redelivery / KILLED_SOURCE / CAMPAIGN_DAY.isoformat()


def write_landings(root: Path) -> Landings:
    from ugc_pipeline.sample import write_sample_landing

    sample = write_sample_landing(root / "landing", campaign_start=CAMPAIGN_DAY, campaign_days=1,
                                  extra_delivery_days=0)
    assert sample.delivery_dates == [SNAPSHOT_DAY, CAMPAIGN_DAY], sample.delivery_dates
    landings = Landings(base=root / "landing", redelivery=root / "redelivery")
    products = (landings.base / "products" / SNAPSHOT_DAY.isoformat() / "products.csv").read_text("utf-8")
    skus = [line.split(",", 1)[0] for line in products.splitlines()[1:] if line.strip()]
    write_yotpo_redelivery(landings.redelivery_folder, skus)
    return landings


def write_yotpo_redelivery(folder: Path, skus: list[str], reviews: int = REDELIVERY_REVIEWS,
                           seed: int = 8) -> None:
    """Yotpo API pages of ``reviews`` reviews of ``skus`` (scripts/benchmark_ingest.py's shape),
    created before CAMPAIGN_DAY; one in REJECT_EVERY has a score of 9 and is quarantined."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for page, first in enumerate(range(0, reviews, REVIEWS_PER_PAGE), 1):
        items = []
        for i in range(first, min(reviews, first + REVIEWS_PER_PAGE)):
            created = (start + timedelta(seconds=rng.randrange(0, 60 * 86400))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            items.append({
                "id": 700_000_000 + i, "sku": rng.choice(skus),
                "score": 9 if i % REJECT_EVERY == 7 else rng.randint(1, 5),
                "title": "Très bon produit", "content": "Texte de l'avis " * rng.randint(0, 6),
                "created_at": created, "updated_at": created, "votes_up": rng.randint(0, 9), "votes_down": 0,
                "name": "Client", "email": "client@example.com", "reviewer_type": "verified_buyer",
                "deleted": False, "archived": False, "is_incentivized": rng.random() < 0.1, "incentive_type": None,
            })
        (folder / f"reviews_page_{page:04d}.json").write_text(
            json.dumps({"status": {"code": 200, "message": "OK"}, "reviews": items}), encoding="utf-8")


# -- steps ------------------------------------------------------------------------------------

def ingest_step(landing: Path, url: str, source: str, day: date, run_id: str) -> list:
    return ["ingest", {"landing": str(landing), "url": url, "timezone": TIMEZONE, "source": source,
                       "day": day.isoformat(), "run_id": run_id}]


def marts_step(landing: Path, url: str, dbt_dir: Path | None = None) -> list:
    """The marts task (``dbt build``); ``dbt_dir`` keeps dbt's artifacts and its debug log
    (``<dbt_dir>/logs/dbt.log``, what the tests watch), as ``UGC_DBT_DIR`` does in production;
    without it dbt works in a temporary folder, removed afterwards."""
    args = {"landing": str(landing), "url": url, "timezone": TIMEZONE}
    return ["marts", {**args, "dbt_dir": str(dbt_dir)} if dbt_dir else args]


def redelivery_step(landings: Landings, url: str, run_id: str) -> list:
    """The step the tests kill: the big Yotpo redelivery of CAMPAIGN_DAY, replacing the sample's."""
    return ingest_step(landings.redelivery, url, KILLED_SOURCE, CAMPAIGN_DAY, run_id)


# -- the warm worker and its task processes ---------------------------------------------------

class TaskServer:
    """Client of ``task_server.py``: ``start(steps, log)`` forks a task process there."""

    def __init__(self, logs: Path):
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.stderr = open(logs / "task_server.err", "wb")  # noqa: SIM115
        env = dict(os.environ, PYTHONUNBUFFERED="1", GX_ANALYTICS_ENABLED="False",
                   DBT_LOG_LEVEL_FILE="debug")  # the tests read the statements from dbt.log
        self.proc = subprocess.Popen([sys.executable, str(TASK_SERVER)], cwd=PROJECT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self._pending = b""
        self._started: list[int] = []
        self.exited: dict[int, int] = {}
        self.pid: int | None = None
        self._count = 0
        self._names: dict[int, str] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of the worker's imports and of each task process

    def _pump(self, timeout: float) -> None:
        """Read what the worker said within ``timeout`` seconds (0: only what is there)."""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                return
            data = os.read(fd, 1 << 16)
            if not data:
                raise AssertionError(f"the task server died: {self._server_error()}")
            self._pending += data
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                message = json.loads(line)
                if "ready" in message:
                    self.pid = message["ready"]
                    self.cpu["task server imports"] = message["cpu"]
                elif "started" in message:
                    self._started.append(message["started"])
                elif "exited" in message:
                    self.exited[message["exited"]] = message["returncode"]
                    self.cpu[self._names.get(message["exited"], str(message["exited"]))] = message["cpu"]
            if timeout == 0 or time.monotonic() >= deadline:
                return

    def _server_error(self) -> str:
        self.stderr.flush()
        return (self.logs / "task_server.err").read_text("utf-8", "replace")[-3000:]

    def ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.pid is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the task server did not start in {timeout}s: {self._server_error()}")
            self._pump(0.5)

    def start(self, steps: list, name: str) -> Task:
        self.ready()
        self._count += 1
        log = self.logs / f"{self._count:02d}-{name}.log"
        self.proc.stdin.write((json.dumps({"steps": steps, "log": str(log)}) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not self._started:
            if time.monotonic() > deadline:
                raise AssertionError("the task server did not fork the task process")
            self._pump(0.1)
        pid = self._started.pop(0)
        self._names[pid] = name
        return Task(self, pid, log, name)

    def run(self, steps: list, name: str, timeout: float = 120) -> Task:
        """Run steps to completion in a task process; fail with its log if it does not succeed."""
        task = self.start(steps, name)
        code = task.wait(timeout)
        assert code == 0, f"task process {name} ended with {code}:\n{task.log_tail()}"
        return task

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        (self.logs / "cpu.txt").write_text(
            "".join(f"{seconds:7.2f}  {name}\n" for name, seconds in self.cpu.items())
            + f"{sum(self.cpu.values()):7.2f}  total\n", encoding="utf-8")


@dataclass
class Task:
    """One task process forked by the worker."""

    server: TaskServer
    pid: int
    log_path: Path
    name: str
    _read: dict = field(default_factory=dict)  # path -> its bytes as read so far (logs only grow)

    def _refresh(self, path: Path | None = None) -> bytes:
        """The bytes of ``path`` (default: the task's log) so far; reads only what was appended
        since the last call."""
        path = path or self.log_path
        read = self._read.get(path, b"")
        try:
            with open(path, "rb") as handle:
                handle.seek(len(read))
                read += handle.read()
        except FileNotFoundError:
            pass
        self._read[path] = read
        return read

    def log(self, path: Path | None = None) -> str:
        """The task's log, or another log it writes (``path``: dbt's debug log)."""
        return self._refresh(path).decode("utf-8", "replace")

    def log_tail(self, chars: int = 6000) -> str:
        return self.log()[-chars:]

    def returncode(self) -> int | None:
        self.server._pump(0)
        return self.server.exited.get(self.pid)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 120,
                   interval: float = 0.001) -> bool:
        """Poll ``condition`` until it holds (True), or until the process ends (False)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.returncode() is not None:
                return False
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name}: no {what} within {timeout}s:\n{self.log_tail()}")
            time.sleep(interval)
        return True

    def appeared(self, pattern: str, path: Path | None = None) -> Callable[[], bool]:
        """A condition: whether a line matching ``pattern`` has appeared in the task's log or in
        ``path`` (looked for in the complete lines appended since the last look, so that polling
        every millisecond costs little)."""
        regex = re.compile(pattern.encode(), re.MULTILINE)
        checked = 0
        found = False

        def condition() -> bool:
            nonlocal checked, found
            text = self._refresh(path)
            end = text.rfind(b"\n") + 1
            found = found or regex.search(text, checked, end) is not None
            checked = max(checked, end)
            return found

        return condition

    def wait_for_log(self, pattern: str, what: str, timeout: float = 120, path: Path | None = None) -> bool:
        """Wait for a line matching ``pattern`` in the task's log or in ``path``."""
        return self.wait_until(self.appeared(pattern, path), what, timeout)

    def signal(self, sig: int) -> None:
        if self.returncode() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the task process, as ``kill -9`` would (if it still runs)."""
        self.signal(signal.SIGKILL)

    def wait(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.returncode()) is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.name}: still running after {timeout}s:\n{self.log_tail()}")
            self.server._pump(0.05)
        return code


# -- the phase a task process is in -------------------------------------------------------------

def delivery_file_open(pid: int, folder: Path) -> bool:
    """Whether the process has a file of ``folder`` open (it is reading the delivery)."""
    prefix = str(folder) + os.sep
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                return True
        except OSError:
            continue
    return False


# Lines of a task process's log (task_server.LOG_FORMAT) that mark its progress.
SQL = r"sqlalchemy\.engine\.Engine: "
INGESTING = r"crash\.task: ingesting "
PARSED = r"records parsed into "
VALIDATED = r"ugc_pipeline\.pipeline: validation of "
LOAD_BEGUN = SQL + r"delete from raw\.yotpo_reviews where delivery_date"
DUCKDB_LOAD = SQL + r"insert into raw\.yotpo_reviews \("
MARTS_BUILT = r"ugc_pipeline\.pipeline: marts built in "
TRANSACTION_END = SQL + r"(COMMIT|ROLLBACK)$"

# dbt's debug log (``<dbt_dir>/logs/dbt.log``): dbt logs each statement of a model
# ("On model.ugc_kpi.<mart>: <sql>", the SQL on the lines that follow) before it runs it, then
# "SQL status: ..." once it has run; "On model.ugc_kpi.<mart>: COMMIT" as it commits the model's
# transaction; "START sql incremental model marts.<mart>" as the model begins, "OK created sql
# incremental model marts.<mart>" once committed.


def dbt_log(dbt_dir: Path) -> Path:
    return dbt_dir / "logs" / "dbt.log"


def replace_changed(mart: str) -> str:
    """The statement of ``mart``'s ``replace_changed`` (sql/macros/incremental_replace_changed.sql),
    in its model's transaction: the changed partitions found, deleted and inserted again."""
    name = mart.split(".")[-1]
    return rf"^\s*create temporary table {re.escape(name)}__changed_partitions as"


def model_commit(mart: str) -> str:
    return rf"\]: On model\.ugc_kpi\.{re.escape(mart.split('.')[-1])}: COMMIT$"


def model_started(mart: str) -> str:
    return rf"\]: \d+ of \d+ START sql incremental model {re.escape(mart)} "


def model_created(mart: str) -> str:
    return rf"\]: \d+ of \d+ OK created sql incremental model {re.escape(mart)} "


def statement_ran(log: str, pattern: str) -> bool:
    """Whether the dbt statement matching ``pattern`` had run to its end ("SQL status" logged
    after it by the same dbt thread)."""
    found = re.search(pattern, log, re.MULTILINE)
    assert found is not None, f"no statement matches {pattern!r}"
    header = log.rfind("]: On model.", 0, found.start())
    thread = log[log.rfind("\n", 0, header) + 1:header + 1].split(" [", 2)[-1]  # e.g. "Thread-1 (]"
    return re.search(rf"\[{re.escape(thread)}: SQL status: ", log[found.end():]) is not None


def position(log: str, pattern: str) -> int | None:
    """Where ``pattern`` first matches in the log (None: never)."""
    found = re.search(pattern, log, re.MULTILINE)
    return found.start() if found else None


def transaction_end(log: str, pattern: str) -> str | None:
    """How the transaction of the first statement matching ``pattern`` ended, as far as the
    log says: "COMMIT" or "ROLLBACK" once issued, None when the process died before either."""
    start = position(log, pattern)
    assert start is not None, f"no line matches {pattern!r}"
    found = re.search(TRANSACTION_END, log[start:], re.MULTILINE)
    return found.group(1) if found else None


# -- warehouses -----------------------------------------------------------------------------------

@dataclass
class Warehouse:
    label: str
    url: str
    file: Path | None = None  # DuckDB

    def engine(self) -> Engine:
        """An engine as the pipeline makes them (UTC sessions, no pool); imported here, not at
        collection: ugc_pipeline.warehouse takes seconds to import."""
        from ugc_pipeline.warehouse import create_warehouse_engine

        return create_warehouse_engine(self.url)

    @property
    def database(self) -> str:
        return make_url(self.url).database

    @property
    def wal(self) -> Path | None:
        return Path(f"{self.file}.wal") if self.file else None

    def scalar(self, sql: str, **params):
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar_one()
        finally:
            engine.dispose()


class DuckDBWarehouses:
    kind = "duckdb"

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def new(self, label: str) -> Warehouse:
        # not "<schema>.duckdb": DuckDB names the catalog after the file, and a catalog called
        # "marts" makes every "marts.x" ambiguous
        path = self.folder / f"wh_{label}.duckdb"
        return Warehouse(label, f"duckdb:///{path}", path)

    def copy(self, source: Warehouse, label: str) -> Warehouse:
        target = self.new(label)
        shutil.copyfile(source.file, target.file)
        if source.wal.exists():
            shutil.copyfile(source.wal, target.wal)
        return target

    def close(self) -> None:
        pass


class PostgresWarehouses:
    """Throwaway databases ``ugc_test_crash_<label>_<random>`` on the test server; a copy is a
    ``CREATE DATABASE ... TEMPLATE`` of a database nobody is connected to."""

    kind = "postgresql"

    def __init__(self, server_url: str):
        self.server_url = make_url(server_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                   connect_args={"connect_timeout": 3})
        self.created: list[str] = []

    def _create(self, label: str, template: str | None = None) -> Warehouse:
        name = f"ugc_test_crash_{label}_{uuid.uuid4().hex[:8]}".lower()
        with self.admin.connect() as conn:
            conn.execute(text(f'create database "{name}"' + (f' template "{template}"' if template else "")))
        self.created.append(name)
        url = self.server_url.set(database=name).render_as_string(hide_password=False)
        return Warehouse(label, url)

    def new(self, label: str) -> Warehouse:
        return self._create(label)

    def copy(self, source: Warehouse, label: str) -> Warehouse:
        wait_sessions_gone(self.admin, source.database)
        return self._create(label, template=source.database)

    def close(self) -> None:
        """Drop every database, side by side: each DROP DATABASE waits for a checkpoint, and
        concurrent ones share it."""
        from concurrent.futures import ThreadPoolExecutor

        def drop(name: str) -> None:
            with self.admin.connect() as conn:
                conn.execute(text(f'drop database if exists "{name}" with (force)'))

        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(drop, self.created))
            self.created.clear()
        finally:
            self.admin.dispose()


def sessions(admin, database: str) -> list[dict]:
    """The server sessions on ``database`` (other than the asking one)."""
    with admin.connect() as conn:
        rows = conn.execute(text(
            "select pid, state, left(query, 80) as query from pg_stat_activity "
            "where datname = :db and pid <> pg_backend_pid()"), {"db": database}).mappings().all()
    return [dict(r) for r in rows]


def wait_sessions_gone(admin, database: str, timeout: float = 20) -> float:
    """Wait until no session is left on ``database`` (a killed client's backend aborts its
    transaction and ends once it notices); returns how long that took."""
    t0 = time.monotonic()
    while left := sessions(admin, database):
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"sessions still open on {database} {timeout}s after the task died: {left}")
        time.sleep(0.02)
    return time.monotonic() - t0


def relation_oids(warehouse: Warehouse, table: str) -> tuple[int, int]:
    """(database oid, table oid) of a table of a PostgreSQL warehouse, for ``writing``."""
    engine = warehouse.engine()
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(
                "select (select oid from pg_database where datname = current_database()), "
                "cast(cast(:t as regclass) as oid)"), {"t": table}).one())
    finally:
        engine.dispose()


def writing(conn, oids: tuple[int, int]) -> bool:
    """Whether a session holds the ROW EXCLUSIVE lock of a DELETE or INSERT on the table
    (``relation_oids``), held until its transaction ends (``conn``: AUTOCOMMIT, as below)."""
    return conn.execute(text(
        "select count(*) from pg_locks where locktype = 'relation' and database = :db and relation = :rel "
        "and mode = 'RowExclusiveLock' and granted"), {"db": oids[0], "rel": oids[1]}).scalar_one() > 0


def copy_in_progress(conn, database: str) -> bool:
    """Whether a session on ``database`` is running a COPY into a raw table (``conn``: an
    AUTOCOMMIT connection, so that each look is a fresh view of pg_stat_activity)."""
    return conn.execute(text(
        "select count(*) from pg_stat_activity where datname = :db and state = 'active' "
        "and query ilike 'copy raw.%'"), {"db": database}).scalar_one() > 0


# -- before / after -------------------------------------------------------------------------------

def _normalise(value):
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.12g}")  # a sum of doubles may differ in its last bits
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot(warehouse: Warehouse) -> dict[str, tuple[tuple, Counter]]:
    """Every raw and mart table and the quarantine as its columns and the multiset of its rows,
    without the columns that name the run and with doubles cut to 12 significant digits: what
    ``support.runs.snapshot`` compares, as multisets rather than sorted lists (several times
    faster on the redelivery's tables; a duplicated row still counts). Opening a DuckDB file a
    killed process left replays or discards its WAL: this is the reopening that must recover."""
    engine = warehouse.engine()
    try:
        out = {}
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(text(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('raw', 'marts') and table_type = 'BASE TABLE' order by 1"))]
            for table in [*tables, "audit.rejected_records"]:
                result = conn.execute(text(f"select * from {table}"))
                names = list(result.keys())
                keep = [i for i, c in enumerate(names) if c not in RUN_COLUMNS]
                rows = Counter(tuple(_normalise(row[i]) for i in keep) for row in result.fetchall())
                out[table] = (tuple(names[i] for i in keep), rows)
        return out
    finally:
        engine.dispose()


def diff(expected: dict, actual: dict) -> list[str]:
    """Readable differences between two snapshots; empty when identical."""
    out = []
    for table in sorted(set(expected) | set(actual)):
        a, b = expected.get(table), actual.get(table)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{table}: only in {'the warehouse' if a is None else 'the reference'}")
        elif a[0] != b[0]:
            out.append(f"{table}: columns differ {a[0]} != {b[0]}")
        else:
            missing, extra = a[1] - b[1], b[1] - a[1]
            out.append(f"{table}: {a[1].total()} rows expected, {b[1].total()} found; {missing.total()} missing "
                       f"(e.g. {list(missing)[:2]}), {extra.total()} extra or duplicated (e.g. {list(extra)[:2]})")
    return out


@dataclass
class References:
    """Snapshots of runs without a crash, and the warehouses to copy for each killed step."""

    warehouses: DuckDBWarehouses | PostgresWarehouses
    base: Warehouse  # before the redelivery is ingested
    ingested: Warehouse  # the redelivery ingested, marts not built again yet
    before_ingest: dict
    after_ingest: dict
    after_marts: dict

    @property
    def kind(self) -> str:
        return self.warehouses.kind

    @property
    def before_marts(self) -> dict:
        return self.after_ingest


def _run_all(server: TaskServer, steps: dict[str, list], name: str) -> None:
    """Run each kind's steps in a task process of its own, all at once, and wait for them all."""
    tasks = {kind: server.start(kind_steps, f"{kind}-{name}") for kind, kind_steps in steps.items()}
    for task in tasks.values():
        code = task.wait(300)
        assert code == 0, f"task process {task.name} ended with {code}:\n{task.log_tail()}"


def build_references(server: TaskServer, warehouses: list, landings: Landings) -> dict[str, References]:
    """The runs without a crash, for every warehouse kind at once (one task process per kind):
    the base (BASE_STEPS, marts built), a copy with the redelivery ingested, a copy of that
    with the marts built again."""
    base = {w.kind: w.new("base") for w in warehouses}
    _run_all(server, {kind: [ingest_step(landings.base, wh.url, source, day, f"base-{source}-{day}")
                             for source, day in BASE_STEPS] + [marts_step(landings.base, wh.url)]
                      for kind, wh in base.items()}, "base")
    ingested = {w.kind: w.copy(base[w.kind], "ingested") for w in warehouses}
    _run_all(server, {kind: [redelivery_step(landings, wh.url, "reference")] for kind, wh in ingested.items()},
             "reference-ingest")
    rebuilt = {w.kind: w.copy(ingested[w.kind], "rebuilt") for w in warehouses}
    _run_all(server, {kind: [marts_step(landings.base, wh.url)] for kind, wh in rebuilt.items()}, "reference-marts")
    out = {}
    for w in warehouses:
        refs = out[w.kind] = References(w, base[w.kind], ingested[w.kind], snapshot(base[w.kind]),
                                        snapshot(ingested[w.kind]), snapshot(rebuilt[w.kind]))
        # the killed steps must change something, or "before or after" would prove nothing
        changed = {t for t in refs.after_ingest if refs.after_ingest[t] != refs.before_ingest[t]}
        assert changed == {"raw.yotpo_reviews", "audit.rejected_records"}, changed
        changed = {t for t in refs.after_marts if refs.after_marts[t] != refs.after_ingest[t]}
        assert "marts.ugc_daily" in changed and all(t.startswith("marts.") for t in changed), changed
    return out


def state_of(warehouse: Warehouse, before: dict, after: dict) -> tuple[str | None, str]:
    """("before" | "after" | None, the differences when neither)."""
    try:
        now = snapshot(warehouse)
    except Exception as exc:  # noqa: BLE001 - e.g. a DuckDB file that no longer opens
        return None, f"NEITHER STATE (a real bug): the warehouse cannot be read any more: {exc!r}"
    versus_before = diff(before, now)
    if not versus_before:
        return "before", ""
    versus_after = diff(after, now)
    if not versus_after:
        return "after", ""
    return None, ("NEITHER STATE (a real bug):\n  versus before: " + "\n    ".join(versus_before)
                  + "\n  versus after: " + "\n    ".join(versus_after))


def assert_state(warehouse: Warehouse, before: dict, after: dict, allowed: tuple[str, ...], context: str) -> str:
    state, differences = state_of(warehouse, before, after)
    assert state is not None, f"{context}: {differences}"
    assert state in allowed, f"{context}: the warehouse holds the {state} state, expected {' or '.join(allowed)}"
    return state


def assert_mart_states(warehouse: Warehouse, before: dict, after: dict, context: str,
                       must: dict[str, str] | None = None) -> dict[str, str]:
    """After a marts step: every mart holds exactly its before or its after rows (each mart is
    its own transaction), every other table is unchanged, and each mart of ``must`` holds the
    state it names. Returns each mart's state ("before", "after", or "unchanged" when the step
    does not change it)."""
    try:
        now = snapshot(warehouse)
    except Exception as exc:  # noqa: BLE001 - e.g. a DuckDB file that no longer opens
        raise AssertionError(f"{context}: NEITHER STATE (a real bug): the warehouse cannot be read any more: "
                             f"{exc!r}") from exc
    problems, states = [], {}
    for table in sorted(set(before) | set(after) | set(now)):
        if not table.startswith("marts."):
            if before.get(table) != now.get(table):
                problems.append("changed by the marts step: " + "; ".join(diff({table: before.get(table)},
                                                                               {table: now.get(table)})))
            continue
        state = ("unchanged" if before.get(table) == after.get(table) == now.get(table)
                 else "before" if before.get(table) == now.get(table)
                 else "after" if after.get(table) == now.get(table) else None)
        if state is None:
            problems.append("NEITHER STATE (a real bug), half written:\n    versus before: "
                            + "; ".join(diff({table: before.get(table)}, {table: now.get(table)}))
                            + "\n    versus after: " + "; ".join(diff({table: after.get(table)}, {table: now.get(table)})))
        elif state != "unchanged" and (must or {}).get(table, state) != state:
            problems.append(f"{table}: holds its {state} state, expected its {must[table]} state")
        states[table] = state
    assert not problems, f"{context}: " + "\n  ".join(problems) + f"\n  (mart states: {states})"
    return states


def successful_runs(warehouse: Warehouse, run_id: str) -> int:
    return warehouse.scalar("select count(*) from audit.pipeline_runs where run_id = :r and status = 'success'",
                            r=run_id)


def duplicate_raw_keys(warehouse: Warehouse) -> int:
    return warehouse.scalar(
        "select count(*) from (select delivery_date, source_file, record_number from raw.yotpo_reviews "
        "group by 1, 2, 3 having count(*) > 1) as d")


# -- restarting the local PostgreSQL server ---------------------------------------------------------

def local_cluster(url: str) -> tuple[str, str] | None:
    """(version, name) of the Debian cluster serving ``url`` on this machine, if it is one that
    ``pg_ctlcluster`` can restart (the brief's ``$(ls /etc/postgresql | head -1) main``)."""
    parsed = make_url(url)
    if parsed.host not in ("127.0.0.1", "localhost", "::1") or not shutil.which("pg_ctlcluster"):
        return None
    try:
        versions = sorted(os.listdir("/etc/postgresql"))
    except OSError:
        return None
    if not versions or not Path(f"/etc/postgresql/{versions[0]}/main").is_dir():
        return None
    return versions[0], "main"


def restart_cluster(cluster: tuple[str, str]) -> float:
    """Restart the server (a fast shutdown: every session is cut); returns the seconds it took."""
    t0 = time.monotonic()
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster]
    done = subprocess.run([*command, "restart"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:  # never leave the server down for the other users of it
        started = subprocess.run([*command, "start"], capture_output=True, text=True, timeout=120)
        raise AssertionError(f"pg_ctlcluster restart failed ({done.returncode}): {done.stderr.strip()}; "
                             f"start: {started.returncode} {started.stderr.strip()}")
    return time.monotonic() - t0


def wait_server_answers(admin, timeout: float = 120) -> float:
    """Wait until the server accepts connections again; returns how long that took."""
    t0 = time.monotonic()
    while True:
        try:
            with admin.connect() as conn:
                conn.execute(text("select 1"))
            return time.monotonic() - t0
        except Exception as exc:  # noqa: BLE001 - starting up, or not listening yet
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"the PostgreSQL server did not answer {timeout}s after its restart: {exc}") from exc
            time.sleep(0.1)
