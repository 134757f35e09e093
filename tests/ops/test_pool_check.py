"""The ``ugc_warehouse`` pool: a missing (or slot-less) pool fails the DAG run at its start with how
to create it, instead of leaving the pool's tasks in ``scheduled`` for ever (Airflow's own
behaviour for a task whose pool does not exist)."""

from __future__ import annotations

import shutil

import pytest
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import create_engine, text
from support.session import migrated_metadata_db
from ugc_pipeline.pools import MissingPool, check_pool, check_pool_task, pool_slots
from ugc_pipeline.settings import WAREHOUSE_POOL


@pytest.fixture
def metadata_db(tmp_path) -> str:
    """A copy of the session's migrated Airflow metadata DB (SQLite), as a SQLAlchemy URL."""
    shutil.copy(migrated_metadata_db(), tmp_path / "airflow.db")
    return f"sqlite:///{tmp_path / 'airflow.db'}"


def _set_pool(url: str, slots: int | None) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("delete from slot_pool where pool = :p"), {"p": WAREHOUSE_POOL})
        if slots is not None:
            conn.execute(text("insert into slot_pool (pool, slots, description, include_deferred) "
                              "values (:p, :s, 'test', false)"), {"p": WAREHOUSE_POOL, "s": slots})
    engine.dispose()


def test_a_missing_pool_is_refused_with_how_to_create_it(metadata_db):
    _set_pool(metadata_db, None)
    assert pool_slots(WAREHOUSE_POOL, metadata_db) == -1
    with pytest.raises(MissingPool) as caught:
        check_pool(WAREHOUSE_POOL, metadata_db)
    message = str(caught.value)
    assert "'ugc_warehouse' does not exist" in message and "scheduled" in message
    assert "airflow pools set ugc_warehouse" in message and "airflow-init" in message


def test_a_pool_without_slots_is_refused_and_one_with_slots_passes(metadata_db):
    _set_pool(metadata_db, 0)
    with pytest.raises(MissingPool, match="0 slots"):
        check_pool(WAREHOUSE_POOL, metadata_db)
    _set_pool(metadata_db, 4)
    assert check_pool(WAREHOUSE_POOL, metadata_db) == 4


def test_a_metadata_db_out_of_reach_is_not_checked(tmp_path):
    # a worker isolated from the metadata DB cannot tell: it says so and lets the run go on
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/airflow?connect_timeout=2"
    assert pool_slots(WAREHOUSE_POOL, unreachable) is None
    assert check_pool(WAREHOUSE_POOL, unreachable) is None


@pytest.mark.airflow
def test_a_marts_run_without_the_pool_fails_at_its_start(airflow_runner):
    """Through Airflow: the session's metadata DB without the pool; ``check_pool`` fails (no
    retry), so ``dbt_build``, which takes the pool, never starts and the run ends failed."""
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn")
    before = pool_slots(WAREHOUSE_POOL, url)
    _set_pool(url, None)
    try:
        with pytest.raises(AirflowFailException, match="does not exist"):
            check_pool_task(WAREHOUSE_POOL)  # what the task runs, on this Airflow's configuration
        lines: list[str] = []
        assert airflow_runner.run_marts_once(progress=lines.append) == "failed"
        failed = next(line for line in lines if "FAILED tasks" in line)
        assert "check_pool" in failed and "dbt_build" in failed, lines
    finally:
        _set_pool(url, before if before not in (None, -1) else None)
