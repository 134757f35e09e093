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

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# The hand-made landing zone and the helpers of the end-to-end tests are reused as they are.
E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))

from pg_server import server_url, unavailable  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator:
    """An engine on the server's maintenance database (AUTOCOMMIT, for CREATE/DROP DATABASE)."""
    url = make_url(server_url()).set(drivername="postgresql+psycopg")
    shown = url.render_as_string(hide_password=True)
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            version = conn.dialect.server_version_info
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        engine.dispose()
        unavailable(f"no PostgreSQL server answers at {shown}: {first}")
    if version < (15,):
        unavailable(f"the PostgreSQL server at {shown} is {version}; the warehouse needs 15 or later")
    yield engine
    engine.dispose()


class Databases:
    """Creates ``ugc_test_<label>_<random>`` databases on the server and drops them all."""

    def __init__(self, server):
        self.server = server
        self.created: list[str] = []

    def new(self, label: str = "db") -> str:
        name = f"ugc_test_{label}_{uuid.uuid4().hex[:10]}".lower()
        with self.server.connect() as conn:
            conn.execute(text(f'create database "{name}"'))
        self.created.append(name)
        return make_url(server_url()).set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        with self.server.connect() as conn:
            while self.created:
                conn.execute(text(f'drop database if exists "{self.created.pop()}" with (force)'))


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
def hand_landing(tmp_path_factory) -> Path:
    """The hand-made landing zone of tests/e2e (4 delivery days); read-only."""
    from landing_builder import DAYS, build_landing

    root = tmp_path_factory.mktemp("pg_hand") / "landing"
    assert build_landing(root) == DAYS
    return root


@pytest.fixture(scope="session")
def plus_landing(hand_landing, tmp_path_factory) -> Path:
    """The hand-made landing zone plus a day of records that a CSV-based COPY could get wrong."""
    from pg_landing import build_landing_plus

    return build_landing_plus(hand_landing, tmp_path_factory.mktemp("pg_plus") / "landing")


@pytest.fixture(scope="session")
def duckdb_plus_run(plus_landing, tmp_path_factory):
    """``plus_landing`` day by day (every source's task, marts after each day) on DuckDB: the
    reference the PostgreSQL warehouses are compared with."""
    from pg_landing import PLUS_DAYS
    from pg_support import duckdb_url, run_days

    return run_days("duckdb", plus_landing, duckdb_url(tmp_path_factory.mktemp("pg_ref") / "wh.duckdb"), PLUS_DAYS)


@pytest.fixture(scope="session")
def pg_plus_run(plus_landing, session_pg_url):
    """The same run on PostgreSQL. Tests may rebuild its marts, never change its raw layer."""
    from pg_landing import PLUS_DAYS
    from pg_support import run_days

    return run_days("postgresql", plus_landing, session_pg_url("plus"), PLUS_DAYS)
