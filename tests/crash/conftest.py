"""Fixtures of the crash tests: one warm worker forking the task processes, the landing zones,
and per warehouse kind the reference runs (built once, on first use).

PostgreSQL is ``UGC_TEST_POSTGRES_URL`` or 127.0.0.1:5432 as in tests/postgres: without a server
its tests are skipped, and fail under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crash_support import (
    DuckDBWarehouses,
    PostgresWarehouses,
    References,
    TaskServer,
    build_references,
    write_landings,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from support.postgres import server_url, unavailable


class CrashEnv:
    def __init__(self, root: Path):
        self.root = root
        self.server = TaskServer(root / "logs")  # imports while the landing zones are written...
        self.landings = write_landings(root)
        import ugc_pipeline.warehouse  # noqa: F401  (...and while this process imports what it reads with)
        self._warehouses: dict = {}
        self._references: dict[str, References] = {}
        self._pg_problem: str | None = None

    def pg_problem(self) -> str:
        """Why PostgreSQL cannot be used ("" when a 15+ server answers)."""
        if self._pg_problem is None:
            url = make_url(server_url()).set(drivername="postgresql+psycopg")
            shown = url.render_as_string(hide_password=True)
            engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
            try:
                with engine.connect() as conn:
                    version = conn.dialect.server_version_info
                self._pg_problem = "" if version >= (15,) else f"the PostgreSQL server at {shown} is {version}"
            except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
                first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                self._pg_problem = f"no PostgreSQL server answers at {shown}: {first}"
            finally:
                engine.dispose()
        return self._pg_problem

    def warehouses(self, kind: str):
        if kind not in self._warehouses:
            if kind == "duckdb":
                self._warehouses[kind] = DuckDBWarehouses(self.root / "duckdb")
            else:
                if self.pg_problem():
                    unavailable(self.pg_problem())  # skipped, or failed under CI=true
                self._warehouses[kind] = PostgresWarehouses(server_url())
        return self._warehouses[kind]

    def references(self, kind: str, wanted: set[str]) -> References:
        """The reference runs of ``kind``; on first use, those of every kind the selected tests
        want are built at once (one task process per kind, side by side)."""
        if kind not in self._references:
            kinds = [kind] + sorted(wanted - {kind} - set(self._references))
            if "postgresql" in kinds and kind != "postgresql" and self.pg_problem():
                kinds.remove("postgresql")  # the PostgreSQL tests say why themselves
            self._references.update(build_references(
                self.server, [self.warehouses(k) for k in kinds], self.landings))
        return self._references[kind]

    def close(self) -> None:
        self.server.close()
        for warehouses in self._warehouses.values():
            warehouses.close()


@pytest.fixture(scope="session")
def crash_env(tmp_path_factory):
    env = CrashEnv(tmp_path_factory.mktemp("crash"))
    yield env
    env.close()


def _wanted(session) -> set[str]:
    """The warehouse kinds the selected tests use."""
    kinds = set()
    for item in session.items:
        if "pg_refs" in getattr(item, "fixturenames", ()):
            kinds.add("postgresql")
        if "duckdb_refs" in getattr(item, "fixturenames", ()):
            kinds.add("duckdb")
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "refs" in callspec.params:
            kinds.add(callspec.params["refs"])
    return kinds


@pytest.fixture(params=["duckdb", "postgresql"])
def refs(request, crash_env) -> References:
    """The reference runs of one warehouse kind (DuckDB file, PostgreSQL database)."""
    return crash_env.references(request.param, _wanted(request.session))


@pytest.fixture
def pg_refs(request, crash_env) -> References:
    """The PostgreSQL reference runs only."""
    return crash_env.references("postgresql", _wanted(request.session))


@pytest.fixture
def duckdb_refs(request, crash_env) -> References:
    """The DuckDB reference runs only."""
    return crash_env.references("duckdb", _wanted(request.session))
