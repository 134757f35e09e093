"""Several writers at once on PostgreSQL, where the ``ugc_warehouse`` pool has more than one slot:
ingest tasks of different sources, the same delivery loaded three times, DDL from several
tasks, mart rebuilds beside loads and readers. Worker processes stand for Airflow's task
processes (each call opens its own connections, as a task does); threads stand for readers."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pg_support
import pytest
from e2e_support import Run
from landing_builder import DAYS
from pg_landing import PLUS_DAYS
from pg_support import compare_warehouses, count, settings_for
from sqlalchemy import text
from ugc_pipeline import catalog, warehouse
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.sources import SOURCES

# The DAG loads the business snapshots other sources are checked against first, then the rest.
REFERENCES = [name for name, s in SOURCES.items() if s.is_reference]
OTHERS = [name for name in SOURCES if name not in REFERENCES]


WORKERS = 4  # the ugc_warehouse pool's slots on PostgreSQL


@pytest.fixture(scope="module")
def workers():
    """Worker processes, started fresh (spawn) and warmed up: the calls submitted together then
    start within milliseconds of each other."""
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert len(set(pool.map(pg_support.warm_up, [2.0] * WORKERS))) == WORKERS
        yield pool


def all_at_once(pool, *calls: tuple) -> list:
    """Submit every (function, *args) at once; re-raise the first error."""
    futures = [pool.submit(*call) for call in calls]
    return [f.result() for f in futures]


def test_sources_ingested_at_once_into_a_new_warehouse(workers, plus_landing, duckdb_plus_run, pg_url):
    """Every source of a day at the same time (the business snapshots first, as the DAG does:
    other sources' checks read them), the first day on an empty database, so that the tasks
    also race on creating the schemas, tables, keys, functions and views; the marts are rebuilt
    while the next day loads. The result is the warehouse of the sequential run."""
    here = str(plus_landing)
    for i, day in enumerate(PLUS_DAYS):
        for group in (REFERENCES, OTHERS):
            calls = [(pg_support.task_ingest, s, day, here, pg_url, f"conc-{day}") for s in group]
            calls.append((pg_support.task_ensure_warehouse, pg_url))
            if i > 0:
                calls.append((pg_support.task_build_marts, here, pg_url))
            all_at_once(workers, *calls)
    build_marts(settings_for(plus_landing, pg_url))
    run = Run("concurrent", settings_for(plus_landing, pg_url), None)
    assert compare_warehouses(duckdb_plus_run, run) == []
    assert count(run, "select count(*) from audit.pipeline_runs") == len(PLUS_DAYS) * len(SOURCES)


def test_the_same_delivery_loaded_three_times_at_once_is_there_once(workers, plus_landing, duckdb_plus_run, pg_url):
    """A manual rerun beside the scheduled run: no duplicate raw rows or quarantine entries."""
    here = str(plus_landing)
    for source in REFERENCES:  # what the sources below are checked against
        pg_support.task_ingest(source, DAYS[0], here, pg_url, "business")
    day = DAYS[2]  # retailer reviews with a quarantined record, Yotpo reviews
    for source in ("retailer_reviews", "yotpo_reviews"):
        all_at_once(workers, *[(pg_support.task_ingest, source, day, here, pg_url, f"again-{k}") for k in range(3)])
    run = Run("three-times", settings_for(plus_landing, pg_url), None)
    assert compare_warehouses(duckdb_plus_run, run, ["raw.retailer_reviews", "raw.yotpo_reviews",
                                                     "audit.rejected_records"], "delivery_date = :d", d=day) == []
    assert count(run, "select count(*) from audit.rejected_records") >= 1
    assert count(run, "select count(distinct run_id) from raw.retailer_reviews where delivery_date = :d", d=day) == 1


def test_concurrent_ddl_and_view_refreshes(workers, pg_url):
    """publish_staging and build_marts refresh functions and views; several at once, on a new
    database and again on an existing one, must neither fail nor leave anything half-made."""
    for _ in range(2):
        all_at_once(workers, *[(pg_support.task_ensure_warehouse, pg_url)] * WORKERS)
    engine = warehouse.create_warehouse_engine(pg_url)
    with engine.connect() as conn:
        views = conn.execute(text("select count(*) from pg_views where schemaname in ('staging', 'intermediate')"))
        assert views.scalar_one() == len(catalog.view_models())


def test_concurrent_mart_rebuilds(workers, duckdb_plus_run, pg_plus_run):
    here, url = pg_plus_run.settings.landing_uri, pg_plus_run.settings.warehouse_url
    all_at_once(workers, *[(pg_support.task_build_marts, here, url)] * WORKERS)
    assert compare_warehouses(duckdb_plus_run, pg_plus_run, [s.qualified for s in catalog.mart_specs()]) == []


def test_readers_never_see_an_empty_or_half_built_mart(pg_plus_run):
    """While a rebuild runs (slowed down by a pause inside the ugc_daily insert, after its
    delete), readers keep seeing the previous marts, at once, without waiting for it."""
    run = pg_plus_run
    engine = run.engine
    before = {s.qualified: count(run, f"select count(*) from {s.qualified}") for s in catalog.mart_specs()}
    ugc = catalog.table_specs()["marts.ugc_daily"]
    slow = dataclasses.replace(ugc, sql=f"with pause as materialized (select pg_sleep(1.5)) select model.* from (\n"
                                        f"{ugc.sql.rstrip().rstrip(';')}\n) as model cross join pause")
    marts = [slow, *(s for s in catalog.mart_specs() if s.name != "ugc_daily")]
    rebuild = threading.Thread(target=warehouse.rebuild_marts, args=(engine, run.settings.timezone, marts))
    seen, waits = [], []
    with engine.connect() as reader:
        reader.execution_options(isolation_level="AUTOCOMMIT")
        rebuild.start()
        time.sleep(0.3)  # the rebuild has deleted ugc_daily's rows and is inserting
        while rebuild.is_alive():
            t0 = time.perf_counter()
            seen.append(tuple(reader.execute(text(f"select count(*) from {t}")).scalar_one() for t in before))
            waits.append(time.perf_counter() - t0)
            time.sleep(0.02)
    rebuild.join()
    assert len(seen) >= 20
    assert set(seen) == {tuple(before.values())}
    assert max(waits) < 0.5, "a reader waited for the rebuild"


def test_a_failed_rebuild_leaves_the_marts_as_they_were(pg_plus_run):
    run = pg_plus_run
    before = {s.qualified: count(run, f"select count(*) from {s.qualified}") for s in catalog.mart_specs()}
    reach = catalog.table_specs()["marts.reach_daily"]
    broken = dataclasses.replace(reach, sql=f"select * from (\n{reach.sql.rstrip().rstrip(';')}\n) as m "
                                            "where 1 / (select count(*) - count(*) from raw.products) = 1")
    marts = [catalog.table_specs()["marts.ugc_daily"], broken]
    with pytest.raises(Exception, match="division by zero"):
        warehouse.rebuild_marts(run.engine, "UTC", marts)
    after = {s.qualified: count(run, f"select count(*) from {s.qualified}") for s in catalog.mart_specs()}
    assert after == before
    assert count(run, "select count(*) from meta.pipeline_settings where timezone = 'Europe/Paris'") == 1
