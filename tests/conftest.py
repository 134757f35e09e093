"""Test-session setup shared by every test folder.

Airflow reads its configuration when first imported, so the session's Airflow home (a throwaway
folder per worker, the project's dags/, no examples) is set here, before any test imports it; its
SQLite metadata DB is a copy of one migrated once per session (``support.session``). What the
pipeline writes by default under ./data (dbt's artifacts and slim-build state, GX's files), and
Hypothesis's example database, go to the session's folder too: no test writes into the checkout.
"""

import os

from support import session

_CREATED_SESSION_DIR = session.start_session_dir()  # None in the pytest-xdist workers: inherited
_WORKER_DIR = session.session_dir() / session.worker_name()
os.environ["AIRFLOW_HOME"] = str(_WORKER_DIR / "airflow")
for _name in ("UGC_LANDING_URI", "UGC_WAREHOUSE_URL", "UGC_TIMEZONE"):
    os.environ.pop(_name, None)  # tests choose their settings explicitly
# Settings.load() (the DAG tasks, the CLI) defaults these to ./data/dbt and ./data/gx
os.environ["UGC_DBT_DIR"] = str(_WORKER_DIR / "dbt")
os.environ["UGC_GX_DIR"] = str(_WORKER_DIR / "gx")
# The key personal data is pseudonymised with (ugc_pipeline.pii), as a deployment sets it: every
# warehouse of the session, DuckDB or PostgreSQL, pseudonymises alike (tests/support/pii.py).
os.environ["UGC_PII_KEY"] = "test-session-pii-key"
# ... and UGC_REPORT_DIR to ./data/report: set but empty, no marts run writes an HTML report
# unless its test asks for one (tests/unit/test_report.py, tests/e2e/test_reader_copy.py)
os.environ["UGC_REPORT_DIR"] = ""
# dbt writes its file log (<dbt_dir>/logs/dbt.log) at debug level by default: every statement,
# a quarter of a small build's CPU. No test reads it but the crash tests, which ask for debug.
os.environ["DBT_LOG_LEVEL_FILE"] = "info"

import pytest  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from ugc_pipeline.runner import configure_airflow  # noqa: E402
from ugc_pipeline.settings import SETTING_NAMES  # noqa: E402

configure_airflow()
# Hypothesis keeps its example database and caches in the session's folder, not in ./.hypothesis
# of the checkout (a failing example is printed in the report; CI runs derandomized: it reproduces)
set_hypothesis_home_dir(str(session.session_dir() / "hypothesis"))


def pytest_unconfigure(config):
    session.end_session_dir(_CREATED_SESSION_DIR)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "restarts_postgresql: restarts the PostgreSQL server; runs while no other test uses it")


# ``make test`` runs the suite on one pytest-xdist worker per core with ``--dist loadgroup``. Each
# module's tests go to one worker, whose module-scoped fixtures (a warehouse built once for the
# module's tests) are then built once, not once per worker; a few modules sharing a costly
# per-worker session fixture are one group (``_GROUPS``). What every worker would build alike (the
# hand-made landing zone, the reference runs on DuckDB) is built once per session for all of them
# (``support.session.built_once``).
#
# The groups are made by the scheduler below, not by ``xdist_group`` marks: with pytest 9,
# pytest-xdist 3.8's loadgroup no longer forms any group (it appends the group to the node id,
# which pytest 9 ignores: pytest-dev/pytest-xdist#1386), and every test was handed out alone.
#
# The tests that use the PostgreSQL server run on any worker, side by side, except the one that
# restarts it (marker ``restarts_postgresql``), which waits until no other test uses the server
# and keeps it to itself (``support.session.postgresql_server``).
_PG_FIXTURES = {"pg_server", "new_pg_url", "pg_url", "session_pg_url", "pg_refs", "pg_database", "pg_template", "warehouse_db",
                "services", "pg_plus_run", "duckdb_plus_run"}
_GROUPS = {
    # the warm task server and the reference runs of every warehouse kind
    "crash/test_kill.py": "crash", "crash/test_pg_restart.py": "crash",
    # pg_plus_run: the PostgreSQL warehouse of the plus landing zone, built day by day
    "postgres/test_pg_same_marts.py": "postgres/plus", "postgres/test_pg_concurrency.py": "postgres/plus",
}
# The groups that take longest (whole runs through Airflow, real processes, the warm crash worker),
# longest first: the scheduler hands the groups out in the order of the items, and a long group
# started last keeps one worker busy while the other has nothing left to do.
_LONG_GROUPS = ("deploy/test_celery_local.py", "e2e/test_pull_through_airflow.py", "postgres/test_pg_airflow.py",
                "ops/test_one_run_at_a_time.py", "e2e/test_order_independence.py", "postgres/plus",
                "ops/test_signals.py", "properties/test_incremental_marts.py", "e2e/test_marts_by_hand.py", "crash",
                "ops/test_unreachable_warehouse.py", "ops/test_missing_data.py", "ops/test_alerts.py")


def _group(nodeid: str) -> str:
    """The group of a test: its folder/module, or the group ``_GROUPS`` gives that module."""
    module = "/".join(nodeid.split("::", 1)[0].split("/")[-2:])
    return _GROUPS.get(module, module)


def _uses_postgresql(item) -> bool:
    return (item.path.parent.name == "postgres" or bool(_PG_FIXTURES & set(getattr(item, "fixturenames", ())))
            or "postgres" in item.name)


def pytest_collection_modifyitems(config, items):
    rank = {group: n for n, group in enumerate(_LONG_GROUPS)}
    items.sort(key=lambda item: rank.get(_group(item.nodeid), len(rank)))  # stable: the rest as collected


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own (firstresult)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``: one work unit per ``_group``, handed out in the order of the items."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    config.option.loadscopereorder = False  # keep the order of the items (else: most tests first)
    return ModuleGroupScheduling(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Setup, call and teardown of a test that uses PostgreSQL (or of the worker's last test, which
    tears the session's fixtures down: their databases are dropped) under the server lock."""
    exclusive = item.get_closest_marker("restarts_postgresql") is not None
    if exclusive or nextitem is None or _uses_postgresql(item):
        with session.postgresql_server(exclusive=exclusive):
            yield
    else:
        yield


# -- fixtures shared by several folders ---------------------------------------------------------------

@pytest.fixture(scope="session")
def _airflow_db_migrated() -> None:
    """This worker's Airflow home starts from the session's migrated metadata DB (or, if Airflow
    created one already, ``airflow db migrate`` brings it to the head)."""
    from ugc_pipeline import runner

    runner.configure_airflow()
    if not session.copy_metadata_db(_WORKER_DIR / "airflow"):
        runner.migrate_metadata_db()


@pytest.fixture
def airflow_runner(_airflow_db_migrated, monkeypatch):
    """``ugc_pipeline.runner``, ready to run the DAGs through Airflow.

    ``run_days`` runs ``airflow db migrate`` on every call; the session's metadata DB is migrated
    already, so that one step is skipped here. ``run_days`` exports the UGC_* settings for the
    tasks: they are put back as they were after the test.
    """
    from ugc_pipeline import runner

    saved = {name: os.environ.get(name) for name in SETTING_NAMES}
    monkeypatch.setattr(runner, "migrate_metadata_db", lambda: None)
    yield runner
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def business_template():
    """A warehouse file with the business snapshots (products, stores, campaigns, ambassadors of
    ``support.warehouse_env.BUSINESS_DAY``) loaded by ``ingest_source``, built once per session for
    every worker; copied by the tests that start from it, never opened."""
    from support.warehouse_env import build_business_template

    return session.built_once("business-template", build_business_template) / "wh.duckdb"
