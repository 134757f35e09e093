"""Test-session setup shared by every test folder.

Airflow reads its configuration when first imported, so the session's Airflow home (a throwaway
SQLite metadata DB, the project's dags/, no examples) is set here, before any test imports it.
"""

import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="ugc-test-airflow-")
for _name in ("UGC_LANDING_URI", "UGC_WAREHOUSE_URL", "UGC_TIMEZONE"):
    os.environ.pop(_name, None)  # tests choose their settings explicitly

from ugc_pipeline.runner import configure_airflow  # noqa: E402

configure_airflow()


# ``make test`` runs the suite on one pytest-xdist worker per core with ``--dist loadgroup``.
# Tests that use the PostgreSQL server are one group, run by one worker one after another: one of
# them restarts the server (tests/crash/test_pg_restart.py), which must never cut a test of another
# worker mid-query. Every other test is grouped with its module, whose module-scoped fixtures (a
# warehouse built once for the module's tests) are then built once, not once per worker.
_PG_FIXTURES = {"pg_server", "new_pg_url", "pg_url", "session_pg_url", "pg_refs", "pg_database", "warehouse_db",
                "services"}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        if (item.path.parent.name == "postgres" or _PG_FIXTURES & set(getattr(item, "fixturenames", ()))
                or "postgres" in item.name):
            item.add_marker(pytest.mark.xdist_group("postgresql"))
        else:
            item.add_marker(pytest.mark.xdist_group(f"{item.path.parent.name}/{item.path.name}"))
