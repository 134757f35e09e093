"""Fixtures of the end-to-end tests: the hand-made landing zone (``landing_builder``), pipeline
runs in several day orders, and Airflow ready to run the DAGs (helpers: ``e2e_support``).

Airflow reads its configuration when first imported, so the session's Airflow home must be a
throwaway directory set before that. ``tests/conftest.py`` does it for the whole suite; this file
only steps in when that did not happen (and never once Airflow has been imported).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from ugc_pipeline.catalog import PROJECT_DIR

_OWN_AIRFLOW_HOME: Path | None = None
if "airflow" not in sys.modules and not os.environ.get("AIRFLOW_HOME", "").startswith(tempfile.gettempdir()):
    _OWN_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ugc-e2e-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(_OWN_AIRFLOW_HOME)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_DIR / "dags")

from e2e_support import ORDERS, Run, run_direct  # noqa: E402
from landing_builder import DAYS, build_landing  # noqa: E402
from ugc_pipeline.settings import SETTING_NAMES  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _remove_own_airflow_home():
    yield
    if _OWN_AIRFLOW_HOME is not None:
        shutil.rmtree(_OWN_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    """The hand-made landing zone; read-only for every test."""
    root = tmp_path_factory.mktemp("landing")
    assert build_landing(root) == DAYS
    return root


class DirectRuns:
    """Runs of the landing zone in the day orders of ``e2e_support.ORDERS``, through the functions
    the DAG tasks call, each run once per session on its own warehouse and shared by the tests."""

    def __init__(self, landing: Path, workdir: Path):
        self.landing = landing
        self.workdir = workdir
        self._runs: dict[str, Run] = {}

    def __getitem__(self, label: str) -> Run:
        if label not in self._runs:
            # the reference run goes through every source's task, as the DAG does
            self._runs[label] = run_direct(self.landing, self.workdir, label, ORDERS[label],
                                           delivered_only=label != "forward")
        return self._runs[label]


@pytest.fixture(scope="session")
def direct_runs(landing, tmp_path_factory) -> DirectRuns:
    return DirectRuns(landing, tmp_path_factory.mktemp("direct_runs"))


@pytest.fixture(scope="session")
def _airflow_db_migrated() -> None:
    """``airflow db migrate`` once per session: it takes several seconds even when up to date."""
    from ugc_pipeline import runner

    runner.configure_airflow()
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
