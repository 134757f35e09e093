"""The DAGs through Airflow on a PostgreSQL warehouse named by an Airflow connection
(``UGC_WAREHOUSE_URL=airflow://<conn_id>``), checked against the values computed by hand: every
day's ``ugc_ingest`` run, then one ``ugc_marts`` run."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from support import expected as by_hand  # the e2e expectations, reused as they are
from support.landing_builder import DAYS
from support.runs import Run
from ugc_pipeline import warehouse
from ugc_pipeline.settings import Settings


def _as_airflow_connection(url: str) -> str:
    """An Airflow connection URI (``postgres://...``) for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgres").render_as_string(hide_password=False)


def test_an_airflow_connection_names_the_warehouse(pg_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_UGC_PG_PROBE", _as_airflow_connection(pg_url) + "?sslmode=disable&cursor=x")
    resolved = make_url(warehouse.resolve_warehouse_url("airflow://ugc_pg_probe"))
    assert resolved.drivername == "postgresql+psycopg"
    assert resolved.database == make_url(pg_url).database
    assert dict(resolved.query) == {"sslmode": "disable"}  # libpq extras only
    engine = warehouse.create_warehouse_engine("airflow://ugc_pg_probe")
    warehouse.ensure_warehouse(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from raw.yotpo_reviews").scalar_one() == 0


def test_other_urls_are_left_as_they_are():
    assert warehouse.resolve_warehouse_url("duckdb:///data/warehouse.duckdb") == "duckdb:///data/warehouse.duckdb"


@pytest.mark.airflow
def test_marts_by_hand_through_airflow_on_postgresql(airflow_runner, hand_landing, pg_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_UGC_WAREHOUSE_TEST", _as_airflow_connection(pg_url))
    settings = Settings(landing_uri=str(hand_landing), warehouse_url="airflow://ugc_warehouse_test",
                        timezone="Europe/Paris")

    # every day ingested, then the marts built once: the marts after each day through Airflow are
    # tested on DuckDB (tests/e2e/test_marts_by_hand.py), and day by day on PostgreSQL without
    # Airflow (test_pg_same_marts.py); what is under test here is the tasks on an airflow:// warehouse
    results = airflow_runner.run_days(list(DAYS), settings, build_marts_each_day=False, progress=lambda _msg: None)

    assert [(r.delivery_date, r.ingest_state, r.marts_state, r.failed_tasks) for r in results] == [
        (day, "success", None, []) for day in DAYS]
    assert airflow_runner.run_marts_once(progress=lambda _msg: None) == "success"
    run = Run("airflow-postgresql", Settings(landing_uri=settings.landing_uri, warehouse_url=pg_url), None)
    by_hand.assert_marts_match_hand_values(run)
    by_hand.assert_audit_matches(run, run_ids_expected=4)
