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
