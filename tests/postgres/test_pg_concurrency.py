"""Several writers at once on PostgreSQL, where the ``ugc_warehouse`` pool has more than one slot:
ingest tasks of different sources, the same delivery loaded three times, DDL from several
tasks, dbt builds of the marts beside loads and readers. Worker processes stand for Airflow's
task processes (each call opens its own connections and runs dbt in process, as a task does).

A dbt build writes each mart in its own transaction (``replace_changed`` deletes and inserts the
changed partitions, then writes the docs and runs the post-hook, then commits): to look at a build
half way, the tests hold a SHARE UPDATE EXCLUSIVE lock on the marts, which lets the build delete
and insert but stops it at its ``comment on table`` (persist_docs), before the commit; readers,
who only take ACCESS SHARE locks, are not stopped by either."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor

import pg_support
import pytest
from pg_landing import PLUS_DAYS
from pg_support import (
    compare_warehouses,
    count,
    dbt_models,
    indexes_by_table,
    settings_for,
    signature,
    signatures,
)
from sqlalchemy import text
from support.landing_builder import DAYS
from support.runs import Run
from ugc_pipeline import catalog, dialects, warehouse
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.sources import SOURCES
from ugc_pipeline.transform import POSTGRES_THREADS

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
    also race on creating the schemas, tables and keys; dbt builds the views and marts while the
    next day loads. The result is the warehouse of the sequential run."""
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


MARTS = [s.qualified for s in catalog.mart_specs()]
# The marts a test holds half-built: the daily ones, no more than dbt's threads on PostgreSQL (a
# build stops at each held mart's commit, one thread each; the other marts build and commit).
HELD = ["marts.ugc_daily", "marts.reach_daily", "marts.conversion_daily", "marts.sales_uplift"]
assert len(HELD) <= POSTGRES_THREADS and set(HELD) <= set(MARTS)


def test_concurrent_ensure_warehouse(workers, pg_url, new_pg_url, tmp_path):
    """Several tasks create the raw and audit tables at once, on a new database and again on an
    existing one: none fails, and every table, key and index is there once, as one task alone
    makes them; then dbt builds every staging and intermediate model as a view."""
    for _ in range(2):
        all_at_once(workers, *[(pg_support.task_ensure_warehouse, pg_url)] * WORKERS)
    alone = warehouse.create_warehouse_engine(new_pg_url("alone"))
    warehouse.ensure_warehouse(alone)
    engine = warehouse.create_warehouse_engine(pg_url)
    d = dialects.for_engine(engine)
    with engine.connect() as conn:
        existing = d.existing_relations(conn, warehouse.PYTHON_SCHEMAS)
    assert {name for name, _ in warehouse.ddl_plan(d)} <= existing
    for schema in warehouse.PYTHON_SCHEMAS:
        assert indexes_by_table(engine, schema) == indexes_by_table(alone, schema), schema
    pg_support.task_build_views(str(tmp_path), pg_url)
    with engine.connect() as conn:
        views = conn.execute(text("select count(*) from pg_views where schemaname in ('staging', 'intermediate')"))
        assert views.scalar_one() == len(dbt_models("staging", "intermediate"))


def test_concurrent_view_refreshes(workers, pg_url, tmp_path):
    """publish_staging and build_marts refresh the views; several at once must neither fail nor
    leave anything half-made."""
    warehouse.ensure_warehouse(warehouse.create_warehouse_engine(pg_url))
    all_at_once(workers, *[(pg_support.task_build_views, str(tmp_path), pg_url)] * 3)
    with warehouse.create_warehouse_engine(pg_url).connect() as conn:
        views = conn.execute(text("select count(*) from pg_views where schemaname in ('staging', 'intermediate')"))
        assert views.scalar_one() == len(dbt_models("staging", "intermediate"))


def test_concurrent_mart_rebuilds(workers, duckdb_plus_run, pg_plus_copy):
    """Every pool slot rebuilds the marts of a finished run at once: none fails (dbt's advisory
    lock makes them wait for each other), and the marts are still the reference's."""
    here, url = pg_plus_copy.settings.landing_uri, pg_plus_copy.settings.warehouse_url
    all_at_once(workers, *[(pg_support.task_build_marts, here, url)] * WORKERS)
    assert compare_warehouses(duckdb_plus_run, pg_plus_copy, MARTS) == []


# -- a build seen half way --------------------------------------------------------------------------

def _hold_marts(conn) -> None:
    """Lock the held marts so that a build can delete and insert but not commit them (see module doc)."""
    conn.exec_driver_sql(f"lock table {', '.join(HELD)} in share update exclusive mode")


def _waiting_on(conn, build: Future, timeout: float = 300.0) -> dict[str, int]:
    """Wait until a build process waits for the lock on every held mart (it has written them, in its
    open transactions); mart -> pid of the connection that waits."""
    deadline = time.monotonic() + timeout
    while True:
        rows = conn.execute(text(
            "select c.relname, l.pid from pg_locks l join pg_class c on c.oid = l.relation "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'marts' and not l.granted")).all()
        waiting = {f"marts.{name}": pid for name, pid in rows}
        if set(waiting) == set(HELD):
            return waiting
        if build.done():
            build.result()  # raises what failed
            pytest.fail(f"the build finished without waiting for the lock on {sorted(set(HELD) - set(waiting))}")
        assert time.monotonic() < deadline, f"the build did not reach the marts' commit in {timeout:.0f}s"
        time.sleep(0.2)


def _rebuilt_as_before(run: Run, before: dict) -> None:
    """Rebuild the marts in their time zone (a retry of the build): the same marts as before the test."""
    pg_support.task_build_marts(run.settings.landing_uri, run.settings.warehouse_url)
    assert signatures(run.engine, MARTS) == before


def test_readers_never_see_an_empty_or_half_built_mart(workers, pg_plus_copy):
    """While a build rewrites the marts (the KPI calendar moved to UTC: the days of the items
    created between 22:00 and midnight UTC change), readers keep seeing the previous marts, at
    once, without waiting for it; then they see the new ones."""
    run = pg_plus_copy
    engine = run.engine
    before = signatures(engine, MARTS)
    seen, waits = [], []
    with engine.connect() as locker, engine.connect() as reader:
        reader.execution_options(isolation_level="AUTOCOMMIT")
        _hold_marts(locker)
        build = workers.submit(pg_support.task_build_marts, run.settings.landing_uri,
                               run.settings.warehouse_url, "UTC")
        _waiting_on(locker, build)  # every held mart's rows are deleted and inserted, not committed
        stop = time.monotonic() + 1.5
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            seen.append({t: signature(reader, t) for t in HELD})
            waits.append(time.perf_counter() - t0)
            time.sleep(0.02)
        locker.rollback()  # releases the marts: the build commits
        build.result()
    after = signatures(engine, MARTS)
    assert len(seen) >= 10
    assert all(s == {t: before[t] for t in HELD} for s in seen), "a reader saw a mart being rewritten"
    assert max(waits) < 0.5, "a reader waited for the build"
    assert after["marts.ugc_daily"] != before["marts.ugc_daily"], "the build changed nothing: nothing was seen"


def test_a_failed_mart_build_leaves_that_mart_as_it_was(workers, pg_plus_copy):
    """A mart whose build fails after it has deleted and inserted its changed partitions (its
    statement cancelled before the commit) keeps its previous rows; the build raises, naming it.
    Each mart is its own transaction: the others, built fine, hold the new rows. A retry in the
    previous KPI calendar then gives back every mart as it was."""
    run = pg_plus_copy
    engine = run.engine
    before = signatures(engine, MARTS)
    with engine.connect() as locker:
        _hold_marts(locker)
        build = workers.submit(pg_support.task_build_marts, run.settings.landing_uri,
                               run.settings.warehouse_url, "UTC")
        pids = _waiting_on(locker, build)
        assert locker.execute(text("select pg_cancel_backend(:pid)"), {"pid": pids["marts.reach_daily"]}).scalar_one()
        time.sleep(0.5)
        locker.rollback()
        with pytest.raises(Exception, match=r"(?s)reach_daily.*cancel"):
            build.result()
    after = signatures(engine, MARTS)
    assert after["marts.reach_daily"] == before["marts.reach_daily"]
    assert after["marts.ugc_daily"] != before["marts.ugc_daily"]
    _rebuilt_as_before(run, before)
