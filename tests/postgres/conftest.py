"""Fixtures of the PostgreSQL warehouse tests: a server, and a throwaway database per test.

The server is ``UGC_TEST_POSTGRES_URL`` (a SQLAlchemy URL of any database on it, used to create
and drop the test databases), by default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``
(CI runs a PostgreSQL service there). When no server answers, the tests are skipped with the
reason, except when ``CI=true``: CI must run them, so there they fail.

Each test that asks for ``pg_url`` (or calls ``new_pg_url``) gets its own database
``ugc_test_<random>``, dropped at the end of the test (``WITH (FORCE)``: even if a connection was
left open). The PostgreSQL reference run (``pg_plus_templates``) is made once per worker and
never changed: a test that changes it works on a copy (``pg_plus_copy``, ``pg_hand_copy``).
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
    """``new_pg_url(label, template=None)``: the URL of a new database, empty or a copy of the
    database named ``template``, dropped after the test."""
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
def pg_plus_templates(plus_landing, pg_server) -> Iterator[dict[str, str]]:
    """The same run on PostgreSQL, made once per worker: ``{"hand": url, "plus": url}``, the
    warehouse after the hand-made days (``DAYS``) and after every day (``PLUS_DAYS``), each a
    database that tests read or copy (``CREATE DATABASE ... TEMPLATE``) but never change, so that
    no one needs to restore them. Dropped at the end of the session."""
    from pg_landing import TRICKY_DAY
    from pg_support import run_days
    from sqlalchemy.engine import make_url
    from support.landing_builder import DAYS

    databases = Databases(pg_server)
    url = databases.new("plus")
    run_days("postgresql", plus_landing, url, list(DAYS))
    hand = databases.new("hand", template=make_url(url).database)  # the warehouse of the hand-made days
    run_days("postgresql", plus_landing, url, [TRICKY_DAY])
    yield {"hand": hand, "plus": url}
    databases.drop_all()


@pytest.fixture(scope="session")
def pg_plus_run(plus_landing, pg_plus_templates):
    """The run of ``plus_landing`` on PostgreSQL (every source's task, marts after each day), for
    tests that only read it; a test that changes it takes ``pg_plus_copy``."""
    from pg_support import settings_for
    from support.runs import Run

    return Run("postgresql", settings_for(plus_landing, pg_plus_templates["plus"]), None)


def _copy(new_pg_url, landing: Path, template_url: str, label: str):
    from pg_support import settings_for
    from sqlalchemy.engine import make_url
    from support.runs import Run

    url = new_pg_url(label, template=make_url(template_url).database)
    return Run("postgresql", settings_for(landing, url), None)


@pytest.fixture
def pg_plus_copy(plus_landing, pg_plus_templates, new_pg_url):
    """A copy of ``pg_plus_run`` of the test's own (``CREATE DATABASE ... TEMPLATE``), dropped after it."""
    return _copy(new_pg_url, plus_landing, pg_plus_templates["plus"], "plus_copy")


@pytest.fixture
def pg_hand_copy(plus_landing, pg_plus_templates, new_pg_url):
    """A copy of the same PostgreSQL run as it was after the hand-made landing zone's days
    (``support.landing_builder.DAYS``: ``plus_landing``'s first days are those of ``hand_landing``),
    dropped after the test."""
    return _copy(new_pg_url, plus_landing, pg_plus_templates["hand"], "hand_copy")
