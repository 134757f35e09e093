"""What the whole test session shares, across its pytest-xdist workers: a folder of its own
(outside the checkout), the Airflow metadata DB migrated once, and the PostgreSQL server, which one
test restarts.

``tests/conftest.py`` creates the folder in the process that starts the session, before the
workers are started: they inherit ``UGC_TEST_SESSION_DIR`` and work below it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

SESSION_DIR_ENV = "UGC_TEST_SESSION_DIR"


def session_dir() -> Path:
    return Path(os.environ[SESSION_DIR_ENV])


def start_session_dir() -> Path | None:
    """The session's folder: created here when no process above created one (returned, to be
    removed by ``end_session_dir``), else the inherited one (None returned)."""
    if os.environ.get(SESSION_DIR_ENV) and Path(os.environ[SESSION_DIR_ENV]).is_dir():
        return None
    path = Path(tempfile.mkdtemp(prefix="ugc-test-session-"))
    os.environ[SESSION_DIR_ENV] = str(path)
    return path


def end_session_dir(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- the Airflow metadata DB, migrated once per session ---------------------------------------------

def migrated_metadata_db() -> Path:
    """An Airflow metadata DB (SQLite) at the migrations' head, migrated once per session by the
    first worker that needs it (the others wait for it): each Airflow home starts from a copy.
    A fresh ``airflow db migrate`` takes 10 to 25 s."""
    template = session_dir() / "airflow-template"
    db = template / "airflow.db"
    with _flock(session_dir() / "airflow-template.lock", fcntl.LOCK_EX):
        if not (template / "migrated").exists():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            env = {**os.environ, "AIRFLOW_HOME": str(template)}
            env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
            done = subprocess.run(
                [sys.executable, "-c", "from ugc_pipeline.runner import configure_airflow, migrate_metadata_db; "
                 "configure_airflow(); migrate_metadata_db()"],
                env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            (template / "migrated").touch()
    return db


def copy_metadata_db(home: Path) -> bool:
    """Start the Airflow home ``home`` from the session's migrated metadata DB; False (nothing
    done) when it has a metadata DB already (Airflow may have it open)."""
    target = home / "airflow.db"
    if target.exists():
        return False
    home.mkdir(parents=True, exist_ok=True)
    partial = home / "airflow.db.copying"
    shutil.copyfile(migrated_metadata_db(), partial)
    os.replace(partial, target)
    return True


# -- the PostgreSQL server ---------------------------------------------------------------------------

@contextlib.contextmanager
def postgresql_server(exclusive: bool = False) -> Iterator[None]:
    """Use the PostgreSQL server for the block: shared with the tests of the other workers, or,
    ``exclusive``, alone (a test that restarts it). A reader-writer lock on two files of the
    session's folder; the turnstile makes a waiting exclusive user pass before later shared ones."""
    turnstile = session_dir() / "postgresql.turnstile"
    lock = session_dir() / "postgresql.lock"
    if exclusive:
        with _flock(turnstile, fcntl.LOCK_EX), _flock(lock, fcntl.LOCK_EX):
            yield
        return
    with _flock(turnstile, fcntl.LOCK_EX):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        yield
    finally:
        os.close(fd)


# -- things built once per session, for every worker ---------------------------------------------------

def built_once(name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name`` of the session, filled by ``build(folder)`` the first time a worker
    asks for it (the others wait, then find it done): a landing zone or a reference warehouse
    several test modules start from, built once instead of once per worker. Treat it as
    read-only; a DuckDB file in it is copied before use (one process may open it for writing)."""
    folder = session_dir() / "built" / name
    with _flock(session_dir() / "built" / f"{name}.lock", fcntl.LOCK_EX):
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".done").touch()
    return folder
