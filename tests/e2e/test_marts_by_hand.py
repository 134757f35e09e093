"""The DAGs run through Airflow (``runner.run_days``: one ``ugc_ingest`` DAG run per delivery day,
each followed by a ``ugc_marts`` run) over the hand-made landing zone; every mart row is compared
with the values computed by hand in ``expected.py``."""

from __future__ import annotations

import pytest
from e2e_support import Run, airflow_settings, by_key, fetch
from expected import (
    CONVERSION_COLUMNS,
    DELIVERED,
    REACH_COLUMNS,
    REACH_DAILY,
    REJECTED,
    REJECTED_REASON_MENTIONS,
    SALES_UPLIFT,
    UGC_COLUMNS,
    UGC_DAILY,
    assert_mart,
    assert_same_values,
    conversion_daily,
)
from landing_builder import DAYS
from ugc_pipeline.sources import SOURCES


def assert_marts_match_hand_values(run: Run) -> None:
    ugc = by_key(fetch(run, "select * from marts.ugc_daily"),
                 "kpi_date", "brand", "sku", "platform", "content_type", "influencer_tier")
    assert_mart(ugc, UGC_DAILY, UGC_COLUMNS, "ugc_daily")

    reach = by_key(fetch(run, "select * from marts.reach_daily"),
                   "kpi_date", "brand", "sku", "platform", "influencer_tier")
    assert_mart(reach, REACH_DAILY, REACH_COLUMNS, "reach_daily")

    conversion = by_key(fetch(run, "select * from marts.conversion_daily"), "kpi_date", "sku")
    assert len(conversion) == 62  # 31 days (04-07..05-07) x 2 SKUs
    assert_mart(conversion, conversion_daily(), CONVERSION_COLUMNS, "conversion_daily")

    uplift = by_key(fetch(run, "select * from marts.sales_uplift"), "campaign_id")
    assert list(uplift) == [("CMP-OLIVE",)]
    assert_same_values(uplift[("CMP-OLIVE",)], SALES_UPLIFT["CMP-OLIVE"], "sales_uplift")


def assert_audit_matches(run: Run, run_ids_expected: int) -> None:
    rejected = fetch(run, "select * from audit.rejected_records")
    assert len(rejected) == 1
    assert_same_values(rejected[0], REJECTED[0], "rejected_records")
    assert all(word in rejected[0]["reasons"] for word in REJECTED_REASON_MENTIONS), rejected[0]["reasons"]
    assert '"review_id":"RV-4"' in rejected[0]["raw"].replace(" ", "")
    assert '"rating":"n/a"' in rejected[0]["raw"].replace(" ", "")
    assert rejected[0]["run_id"]

    runs = fetch(run, "select * from audit.pipeline_runs")
    # one row per source per ingest run: 14 sources x 4 days
    assert len(runs) == len(SOURCES) * run_ids_expected == 14 * 4
    assert len({r["run_id"] for r in runs}) == run_ids_expected
    by_day_source = by_key(runs, "delivery_date", "source")
    for day in DAYS:
        for source in SOURCES:
            row = by_day_source[(day.isoformat(), source)]
            assert row["started_at"] <= row["finished_at"]
            delivered = DELIVERED.get((day.isoformat(), source))
            if delivered is None:
                expected = {"status": "no_delivery", "files_read": 0, "records_read": 0,
                            "records_loaded": 0, "records_rejected": 0}
            else:
                expected = {"status": "success", **dict(zip(
                    ("files_read", "records_read", "records_loaded", "records_rejected"), delivered, strict=True))}
            assert_same_values(row, expected, f"pipeline_runs {day} {source}")
    # one run id per delivery day
    for day in DAYS:
        assert len({r["run_id"] for r in runs if r["delivery_date"] == day.isoformat()}) == 1


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
