"""Fixtures of the PostgreSQL warehouse tests: a server, and a throwaway database per test.

The server is ``UGC_TEST_POSTGRES_URL`` (a SQLAlchemy URL of any database on it, used to create
and drop the test databases), by default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``
(CI runs a PostgreSQL service there). When no server answers, the tests are skipped with the
reason, except when ``CI=true``: CI must run them, so there they fail.

Each test that asks for ``pg_url`` (or calls ``new_pg_url``) gets its own database
``ugc_test_<random>``, dropped at the end of the test (``WITH (FORCE)``: even if a connection was
left open).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.postgres import Databases, server_engine
from support.session import built_once


@pytest.fixture(scope="session")
def pg_server() -> Iterator:
    """An engine on the server's maintenance database (AUTOCOMMIT, for CREATE/DROP DATABASE)."""
    engine = server_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def new_pg_url(pg_server) -> Iterator[Callable[[str], str]]:
    """``new_pg_url(label)``: the URL of a new empty database, dropped after the test."""
    databases = Databases(pg_server)
    yield databases.new
    databases.drop_all()


@pytest.fixture(scope="session")
def session_pg_url(pg_server) -> Iterator[Callable[[str], str]]:
    """The same, for session fixtures shared by several tests: dropped at the end of the session."""
    databases = Databases(pg_server)
    yield databases.new
    databases.drop_all()


@pytest.fixture
def pg_url(new_pg_url) -> str:
    """The URL of a new empty database, dropped after the test."""
    return new_pg_url("t")


# -- landing zones and reference runs shared by the test modules ---------------------------------

@pytest.fixture(scope="session")
def hand_landing() -> Path:
    """The hand-made landing zone of tests/e2e (4 delivery days), written once per session for
    every worker; read-only."""
    from support.landing_builder import shared_landing

    return shared_landing()


@pytest.fixture(scope="session")
def plus_landing(hand_landing) -> Path:
    """The hand-made landing zone plus a day of records that a CSV-based COPY could get wrong."""
    from pg_landing import build_landing_plus

    return built_once("pg-plus-landing", lambda folder: build_landing_plus(hand_landing, folder / "landing")) / "landing"


@pytest.fixture(scope="session")
def duckdb_plus_run(plus_landing, tmp_path_factory):
    """``plus_landing`` day by day (every source's task, marts after each day) on DuckDB: the
    reference the PostgreSQL warehouses are compared with; built once per session for every
    worker, each working on its own copy."""
    from pg_landing import PLUS_DAYS
    from pg_support import duckdb_url, run_days, settings_for
    from support.runs import Run, copy_run

    built = built_once("pg-duckdb-plus-run", lambda folder: run_days(
        "duckdb", plus_landing, duckdb_url(folder / "wh.duckdb"), PLUS_DAYS)) / "wh.duckdb"
    return copy_run(Run("duckdb", settings_for(plus_landing, duckdb_url(built)), built),
                    tmp_path_factory.mktemp("pg_ref"), "duckdb")


@pytest.fixture(scope="session")
def pg_plus_run(plus_landing, session_pg_url):
    """The same run on PostgreSQL. Tests may rebuild its marts, never change its raw layer."""
    from pg_landing import PLUS_DAYS
    from pg_support import run_days

    return run_days("postgresql", plus_landing, session_pg_url("plus"), PLUS_DAYS)
