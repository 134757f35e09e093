"""The warehouse as an Airflow connection: ``ugc_warehouse`` (``AIRFLOW_CONN_UGC_WAREHOUSE`` in
compose), a ``postgres`` connection read with the Postgres provider's hook, is the warehouse of
every task and of the dbt build when it exists; ``UGC_WAREHOUSE_URL`` is the floor when it does
not. Checked against the values computed by hand: every day's ``ugc_ingest`` run, then one
``ugc_marts`` run, through Airflow."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import make_url
from support import expected as by_hand  # the e2e expectations, reused as they are
from support.landing_builder import DAYS
from support.runs import Run
from ugc_pipeline import warehouse
from ugc_pipeline.airflow_support import with_warehouse_connection
from ugc_pipeline.connections import warehouse_url_from_connection, warehouse_url_outside_tasks
from ugc_pipeline.settings import Settings, SettingsError


def _as_airflow_connection(url: str, **extra) -> str:
    """An Airflow connection in its JSON form (what ``AIRFLOW_CONN_<ID>`` takes) for a SQLAlchemy URL."""
    parsed = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": parsed.host, "port": parsed.port, "login": parsed.username,
                       "password": parsed.password, "schema": parsed.database, "extra": extra})


def test_the_warehouse_connection_is_read_with_the_postgres_hook(pg_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_UGC_PG_PROBE", _as_airflow_connection(pg_url, sslmode="disable", cursor="x"))
    resolved = make_url(warehouse_url_from_connection("ugc_pg_probe"))
    assert resolved.drivername == "postgresql+psycopg"
    assert resolved.database == make_url(pg_url).database
    assert dict(resolved.query) == {"sslmode": "disable"}  # libpq extras only
    engine = warehouse.create_warehouse_engine(str(resolved.render_as_string(hide_password=False)))
    try:
        warehouse.ensure_warehouse(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select count(*) from raw.yotpo_reviews").scalar_one() == 0
    finally:
        engine.dispose()


def test_without_the_connection_the_url_is_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_UGC_WAREHOUSE", raising=False)
    settings = Settings(warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert warehouse_url_from_connection("ugc_warehouse") is None
    assert with_warehouse_connection(settings) == settings  # the embedded DuckDB needs no connection
    assert warehouse_url_outside_tasks("ugc_warehouse", settings.warehouse_url) == settings.warehouse_url


def test_a_connection_of_another_type_is_refused(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_UGC_WAREHOUSE", json.dumps({"conn_type": "http", "host": "example.org"}))
    with pytest.raises(SettingsError, match="must be a postgres connection"):
        with_warehouse_connection(Settings())


def test_the_former_airflow_url_scheme_says_what_to_do():
    with pytest.raises(SettingsError, match=r"airflow://<conn_id> form is no longer read.*ugc_warehouse"):
        Settings(warehouse_url="airflow://ugc_warehouse")


@pytest.mark.airflow
def test_marts_by_hand_through_airflow_on_the_warehouse_connection(airflow_runner, hand_landing, pg_url, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_UGC_WAREHOUSE", _as_airflow_connection(pg_url))
    # a decoy URL: with the connection there, no task may write it
    decoy = f"duckdb:///{tmp_path / 'decoy.duckdb'}"
    settings = Settings(landing_uri=str(hand_landing), warehouse_url=decoy, timezone="Europe/Paris")

    # every day ingested, then the marts built once: the marts after each day through Airflow are
    # tested on DuckDB (tests/e2e/test_marts_by_hand.py), and day by day on PostgreSQL without
    # Airflow (test_pg_same_marts.py); what is under test here is the tasks and dbt on the connection
    results = airflow_runner.run_days(list(DAYS), settings, build_marts_each_day=False, progress=lambda _msg: None)

    assert [(r.delivery_date, r.ingest_state, r.marts_state, r.failed_tasks) for r in results] == [
        (day, "success", None, []) for day in DAYS]
    assert airflow_runner.run_marts_once(progress=lambda _msg: None) == "success"
    run = Run("airflow-postgresql", Settings(landing_uri=settings.landing_uri, warehouse_url=pg_url), None)
    by_hand.assert_marts_match_hand_values(run)
    by_hand.assert_audit_matches(run, run_ids_expected=4)
    if (tmp_path / "decoy.duckdb").exists():  # the runner's own check may have opened it, no more
        import duckdb

        with duckdb.connect(str(tmp_path / "decoy.duckdb"), read_only=True) as con:
            assert con.execute("select count(*) from information_schema.tables where table_schema = 'raw'").fetchone() == (0,)
