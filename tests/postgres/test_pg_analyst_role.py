"""The analysts' read-only role (``ugc_pipeline.roles``): it reads the marts, those rebuilt after
it was created included, and can neither write anything nor read the raw layer or the audit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from ugc_pipeline import warehouse
from ugc_pipeline.roles import ensure_analyst_role


@pytest.fixture
def analyst(pg_server, pg_url):
    """A role name of its own (roles are server-wide), dropped with its grants after the test."""
    role = f"ugc_analyst_{uuid.uuid4().hex[:8]}"
    yield role
    engine = warehouse.create_warehouse_engine(pg_url)
    with engine.begin() as conn:
        if conn.execute(text("select 1 from pg_roles where rolname = :r"), {"r": role}).first():
            conn.exec_driver_sql(f'drop owned by "{role}"')
    engine.dispose()
    with pg_server.connect() as conn:
        conn.exec_driver_sql(f'drop role if exists "{role}"')


def _as(url: str, role: str, password: str) -> str:
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


def _denied(engine, sql: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    except ProgrammingError as exc:
        return "permission denied" in str(exc.orig)
    return False


def test_the_analyst_reads_the_marts_and_nothing_else(pg_url, analyst):
    owner = warehouse.create_warehouse_engine(pg_url)
    warehouse.ensure_warehouse(owner)  # raw, audit... as the pipeline creates them
    with owner.begin() as conn:
        conn.exec_driver_sql("create schema if not exists marts")  # dbt's, on the first marts run
        conn.exec_driver_sql("create table marts.ugc_daily as select date '2025-05-05' as kpi_date, 3 as ugc_count")
    ensure_analyst_role(owner, analyst, "analyst-pw")
    ensure_analyst_role(owner, analyst, "analyst-pw")  # idempotent: the init job runs it at every start

    reader = warehouse.create_warehouse_engine(_as(pg_url, analyst, "analyst-pw"))
    try:
        with reader.connect() as conn:
            assert conn.exec_driver_sql("select ugc_count from marts.ugc_daily").scalar_one() == 3
        assert _denied(reader, "insert into marts.ugc_daily values (date '2025-05-06', 1)")
        assert _denied(reader, "delete from marts.ugc_daily")
        assert _denied(reader, "create table marts.mine (x int)")
        assert _denied(reader, "select count(*) from raw.yotpo_reviews")
        assert _denied(reader, "select count(*) from audit.pipeline_runs")
        assert _denied(reader, "select count(*) from audit.rejected_records")

        # a mart rebuilt (dropped and created again, a full refresh) or added later stays readable
        with owner.begin() as conn:
            conn.exec_driver_sql("drop table marts.ugc_daily")
            conn.exec_driver_sql("create table marts.ugc_daily as select date '2025-05-05' as kpi_date, 4 as ugc_count")
            conn.exec_driver_sql("create table marts.sales_uplift as select 'c1' as campaign_id")
        with reader.connect() as conn:
            assert conn.exec_driver_sql("select ugc_count from marts.ugc_daily").scalar_one() == 4
            assert conn.exec_driver_sql("select campaign_id from marts.sales_uplift").scalar_one() == "c1"
    finally:
        reader.dispose()
        owner.dispose()


def test_the_init_command_creates_the_role_from_the_environment(pg_url, analyst, monkeypatch, caplog):
    """``python -m ugc_pipeline.roles`` (the compose init job): role and password from the
    environment, the warehouse of the settings; the password appears in no log line."""
    from ugc_pipeline import roles

    monkeypatch.delenv("AIRFLOW_CONN_UGC_WAREHOUSE", raising=False)
    env = {"UGC_WAREHOUSE_URL": pg_url, "WAREHOUSE_ANALYST_USER": analyst, "WAREHOUSE_ANALYST_PASSWORD": "s3cret-analyst"}
    caplog.set_level("INFO")
    assert roles.main(env) == 0
    assert analyst in caplog.text and "s3cret-analyst" not in caplog.text
    owner = warehouse.create_warehouse_engine(pg_url)
    with owner.begin() as conn:
        conn.exec_driver_sql("create table marts.conversion_daily as select 1 as sessions")
    owner.dispose()
    reader = warehouse.create_warehouse_engine(_as(pg_url, analyst, "s3cret-analyst"))
    try:
        with reader.connect() as conn:
            assert conn.exec_driver_sql("select sessions from marts.conversion_daily").scalar_one() == 1
    finally:
        reader.dispose()
    # a DuckDB warehouse has no roles: nothing to do
    assert roles.main({"UGC_WAREHOUSE_URL": "duckdb:///:memory:", "WAREHOUSE_ANALYST_PASSWORD": "x"}) == 0
