"""Fixtures of the operations tests: ``ugc-pipeline`` run as a real process (signals, two runs at
once, unreachable warehouses), each with its own Airflow home and warehouse.

The hand-made landing zone of the end-to-end tests is reused (``tests/e2e/landing_builder.py``);
PostgreSQL is the server of ``tests/postgres`` (skipped without one, failing under ``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for _folder in (TESTS / "e2e", TESTS / "postgres"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from landing_builder import build_landing  # noqa: E402
from ops_support import Cli  # noqa: E402
from pg_server import server_url, unavailable  # noqa: E402


@pytest.fixture(scope="session")
def ops_landing(tmp_path_factory) -> Path:
    """The hand-made landing zone (four delivery days, 2025-05-05 .. 2025-05-08); read-only."""
    root = tmp_path_factory.mktemp("ops_landing")
    build_landing(root)
    return root


@pytest.fixture(scope="session")
def migrated_metadata_db(tmp_path_factory) -> Path:
    """An Airflow metadata DB migrated once per session (a fresh one takes ~25 s): each test's
    Airflow home starts from a copy."""
    home = tmp_path_factory.mktemp("ops_airflow_template")
    env = {**os.environ, "AIRFLOW_HOME": str(home)}
    subprocess.run([sys.executable, "-c", "from ugc_pipeline.runner import configure_airflow, migrate_metadata_db; "
                    "configure_airflow(); migrate_metadata_db()"], env=env, check=True, capture_output=True)
    return home / "airflow.db"


@pytest.fixture
def cli(tmp_path, migrated_metadata_db) -> Iterator[Callable[..., Cli]]:
    """``cli(*args, **env)`` starts ``ugc-pipeline`` in its own process, in ``tmp_path``, with the
    Airflow home ``tmp_path/airflow`` (a copy of the migrated metadata DB) unless ``AIRFLOW_HOME``
    is given. Processes still running at the end of the test are killed."""
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(migrated_metadata_db, home / "airflow.db")
    started: list[Cli] = []

    def start(*args: str, **env: str) -> Cli:
        env = {"AIRFLOW_HOME": str(home), **env}
        proc = Cli(list(args), env, cwd=tmp_path, log=tmp_path / f"cli-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(server_url()).set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server"
        engine.dispose()
        unavailable(f"no PostgreSQL server answers at {url.render_as_string(hide_password=True)}: "
                    f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}")
    name = f"ugc_test_ops_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
    engine.dispose()
