"""Fixtures of the operations tests: ``ugc-pipeline`` run as a real process (signals, two runs at
once, unreachable warehouses), each with its own Airflow home and warehouse.

The hand-made landing zone of the end-to-end tests is reused (``support.landing_builder``); each
Airflow home starts from the session's migrated metadata DB (``support.session``); PostgreSQL is
the server of ``tests/postgres`` (skipped without one, failing under ``CI=true``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ops_support import Cli
from support.landing_builder import shared_landing
from support.postgres import new_database
from support.session import migrated_metadata_db


@pytest.fixture(scope="session")
def ops_landing() -> Path:
    """The hand-made landing zone (four delivery days, 2025-05-05 .. 2025-05-08); read-only."""
    return shared_landing()


@pytest.fixture
def cli(tmp_path) -> Iterator[Callable[..., Cli]]:
    """``cli(*args, **env)`` starts ``ugc-pipeline`` in its own process, in ``tmp_path``, with the
    Airflow home ``tmp_path/airflow`` (a copy of the migrated metadata DB) unless ``AIRFLOW_HOME``
    is given. Processes still running at the end of the test are killed."""
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(migrated_metadata_db(), home / "airflow.db")
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
    with new_database("ops") as url:
        yield url
