"""The analysts' read-only role on a PostgreSQL warehouse: SELECT on the marts, nothing else.

Analysts get a login of their own instead of the pipeline's owner login: it may connect, read
every table of ``marts`` (those there now and, through default privileges, those the pipeline
creates later: a full refresh or a new mart stays readable), and nothing else: no write, no DDL,
no ``raw``, ``staging``, ``intermediate``, ``audit`` or ``meta`` (personal data and quarantine
stay with the pipeline). Run as the pipeline's role (the owner of the marts), idempotently:

    WAREHOUSE_ANALYST_USER=ugc_analyst WAREHOUSE_ANALYST_PASSWORD=... python -m ugc_pipeline.roles

(the compose init job does it at every ``docker compose up``). The warehouse is the Airflow
connection ``ugc_warehouse`` when the environment gives it (``AIRFLOW_CONN_UGC_WAREHOUSE``), else
``UGC_WAREHOUSE_URL``. The password is read from the environment only, and sent to PostgreSQL
inside the statement it builds itself (``format('%L')``): never on a command line, never logged.
"""

from __future__ import annotations

import logging
import os
import sys

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
DEFAULT_ANALYST_ROLE = "ugc_analyst"


def _run_formatted(conn, template: str, *values: str) -> None:
    """Execute a statement PostgreSQL's ``format()`` builds (``%I`` identifiers, ``%L`` literals):
    DDL takes no bind parameters, and quoting stays the server's. An error shows the template and
    the server's message, never the values (a password)."""
    from sqlalchemy.exc import DBAPIError

    placeholders = ", ".join(f"cast(:v{i} as text)" for i in range(len(values)))
    try:
        statement = conn.execute(text(f"select format(cast(:t as text), {placeholders})"),
                                 {"t": template, **{f"v{i}": v for i, v in enumerate(values)}}).scalar_one()
        conn.exec_driver_sql(statement)
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise RuntimeError(f"{template!r} failed: {first}") from None


def ensure_analyst_role(engine: Engine, role: str = DEFAULT_ANALYST_ROLE, password: str | None = None) -> None:
    """Create (or update) the login ``role`` with SELECT on the marts of ``engine``'s database and
    default privileges for the marts the connected role creates later. Idempotent."""
    if engine.dialect.name != "postgresql":
        raise ValueError("the analyst role is for a PostgreSQL warehouse (DuckDB: share a read-only copy of the file)")
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(hashtext('ugc_pipeline.roles'))"))
        exists = conn.execute(text("select 1 from pg_roles where rolname = :r"), {"r": role}).first() is not None
        verb = "alter" if exists else "create"
        if password:
            _run_formatted(conn, f"{verb} role %I login password %L", role, password)
        else:
            _run_formatted(conn, f"{verb} role %I login", role)
        database = conn.execute(text("select current_database()")).scalar_one()
        _run_formatted(conn, "grant connect on database %I to %I", database, role)
        conn.exec_driver_sql(f"create schema if not exists {MARTS_SCHEMA}")
        _run_formatted(conn, f"grant usage on schema {MARTS_SCHEMA} to %I", role)
        _run_formatted(conn, f"grant select on all tables in schema {MARTS_SCHEMA} to %I", role)
        # tables (and views) the pipeline's role creates in marts later are readable too
        _run_formatted(conn, f"alter default privileges in schema {MARTS_SCHEMA} grant select on tables to %I", role)
    log.info("analyst role %s: SELECT on %s.* of database %s (and on the tables created there later)",
             role, MARTS_SCHEMA, database)


def main(environ=os.environ) -> int:
    from ugc_pipeline.connections import warehouse_url_outside_tasks
    from ugc_pipeline.settings import Settings, redact_url
    from ugc_pipeline.warehouse import create_warehouse_engine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    role = environ.get("WAREHOUSE_ANALYST_USER") or DEFAULT_ANALYST_ROLE
    password = environ.get("WAREHOUSE_ANALYST_PASSWORD") or ""
    settings = Settings.load(environ)
    url = warehouse_url_outside_tasks(settings.warehouse_conn_id, settings.warehouse_url)
    if not url.startswith(("postgresql", "postgres")):
        log.info("the warehouse %s is not PostgreSQL: no analyst role to create", redact_url(url))
        return 0
    if not password:
        log.warning("WAREHOUSE_ANALYST_PASSWORD is empty: the role %s is created without a password "
                    "(it can log in only where the server trusts it)", role)
    engine = create_warehouse_engine(url)
    try:
        ensure_analyst_role(engine, role, password or None)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
