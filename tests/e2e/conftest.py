"""Fixtures of the end-to-end tests: the hand-made landing zone (``support.landing_builder``) and
pipeline runs in several day orders (helpers: ``support.runs``). Airflow, ready to run the DAGs,
is the ``airflow_runner`` of ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.landing_builder import shared_landing
from support.runs import ORDERS, Run, copy_run, make_settings, run_direct
from support.session import built_once


@pytest.fixture(scope="session")
def landing() -> Path:
    """The hand-made landing zone, written once per session for every worker; read-only."""
    return shared_landing()


class DirectRuns:
    """Runs of the landing zone in the day orders of ``support.runs.ORDERS``, through the functions
    the DAG tasks call, each run once per session (for every worker: ``support.session.built_once``)
    on its own warehouse and shared by the tests."""

    def __init__(self, landing: Path, workdir: Path):
        self.landing = landing
        self.workdir = workdir
        self._runs: dict[str, Run] = {}

    def __getitem__(self, label: str) -> Run:
        if label not in self._runs:
            def build(folder: Path) -> None:
                # the reference run goes through every source's task, as the DAG does
                run_direct(self.landing, folder, label, ORDERS[label], delivered_only=label != "forward")

            built = built_once(f"e2e-direct-{label}", build)
            shared = Run(label, make_settings(self.landing, built / f"{label}.duckdb"), built / f"{label}.duckdb")
            self._runs[label] = copy_run(shared, self.workdir, label)  # this worker's copy
        return self._runs[label]


@pytest.fixture(scope="session")
def direct_runs(landing, tmp_path_factory) -> DirectRuns:
    return DirectRuns(landing, tmp_path_factory.mktemp("direct_runs"))
