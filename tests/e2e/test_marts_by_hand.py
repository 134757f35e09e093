"""The DAGs run through Airflow (``runner.run_days``: one ``ugc_ingest`` DAG run per delivery day,
each followed by a ``ugc_marts`` run) over the hand-made landing zone; every mart row is compared
with the values computed by hand in ``expected.py``."""

from __future__ import annotations

import pytest
from support.expected import assert_audit_matches, assert_marts_match_hand_values
from support.landing_builder import DAYS
from support.runs import Run, airflow_settings


@pytest.mark.airflow
def test_marts_by_hand_through_airflow(airflow_runner, landing, tmp_path):
    settings = airflow_settings(landing, tmp_path)

    results = airflow_runner.run_days(list(DAYS), settings, progress=lambda _msg: None)

    assert [(r.delivery_date, r.ingest_state, r.marts_state, r.failed_tasks) for r in results] == [
        (day, "success", "success", []) for day in DAYS]
    run = Run("airflow-forward", settings, tmp_path / "warehouse.duckdb")
    assert_marts_match_hand_values(run)
    assert_audit_matches(run, run_ids_expected=4)


def test_marts_by_hand_direct(direct_runs):
    """The same hand values from the functions the DAG tasks call, days in order, marts after
    each day (the reference run of the order and idempotency tests)."""
    run = direct_runs["forward"]
    assert_marts_match_hand_values(run)
    assert_audit_matches(run, run_ids_expected=4)
