"""Which PostgreSQL server the tests use, what happens when there is none, and throwaway
databases on it."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("UGC_TEST_POSTGRES_URL") or DEFAULT_SERVER_URL


def unavailable(reason: str, environ=os.environ) -> None:
    """Skip the test because PostgreSQL is not there, or fail it when ``CI=true``."""
    if environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and {reason}: the PostgreSQL tests must run in CI", pytrace=False)
    pytest.skip(f"{reason} (start PostgreSQL 15+ there or set UGC_TEST_POSTGRES_URL; with CI=true this fails)")


def server_engine(min_version: tuple[int, ...] = (15,)):
    """An engine on the server's maintenance database (AUTOCOMMIT, for CREATE/DROP DATABASE); the
    test is skipped (failed under CI=true) when no server of ``min_version`` or later answers."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(server_url()).set(drivername="postgresql+psycopg")
    shown = url.render_as_string(hide_password=True)
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            version = conn.dialect.server_version_info
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        engine.dispose()
        unavailable(f"no PostgreSQL server answers at {shown}: {first}")
    if version < min_version:
        engine.dispose()
        unavailable(f"the PostgreSQL server at {shown} is {version}; the warehouse needs 15 or later")
    return engine


class Databases:
    """Creates ``ugc_test_<label>_<random>`` databases on the server and drops them all."""

    def __init__(self, server):
        self.server = server
        self.created: list[str] = []

    def new(self, label: str = "db", template: str | None = None) -> str:
        """A new database, empty or a copy of the database ``template`` (which no one may be
        connected to meanwhile)."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"ugc_test_{label}_{uuid.uuid4().hex[:10]}".lower()
        with self.server.connect() as conn:
            conn.execute(text(f'create database "{name}"' + (f' template "{template}"' if template else "")))
        self.created.append(name)
        return make_url(server_url()).set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)

    def drop(self, url: str) -> None:
        """Drop one of the databases created here, before ``drop_all``."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self.server.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        self.created.remove(name)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.server.connect() as conn:
            while self.created:
                conn.execute(text(f'drop database if exists "{self.created.pop()}" with (force)'))


@contextlib.contextmanager
def new_database(label: str) -> Iterator[str]:
    """The URL of a new, empty database for the block, dropped afterwards (``WITH (FORCE)``: even
    if a connection was left open)."""
    server = server_engine()
    databases = Databases(server)
    try:
        yield databases.new(label)
    finally:
        databases.drop_all()
        server.dispose()
