"""``check_deliveries`` reads ``audit.pipeline_runs`` the same way on PostgreSQL as on DuckDB: the
same run history (written with the pipeline's own ``record_run``) gives the same verdict."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from ugc_pipeline import warehouse
from ugc_pipeline.checks import check_deliveries
from ugc_pipeline.settings import Settings

DAY = date(2025, 5, 6)
CHECKS = json.dumps({"yotpo_reviews": {"required": True, "min_volume_share": 0.3},
                     "retailer_reviews": {"required": True, "max_days_without_delivery": 2}})


def _history(url: str) -> None:
    """Yotpo: 10 records a day 05-01..05-05, then 2 on 05-06 (rerun: a first attempt loaded 1).
    Retailer: last delivered 05-02. Products delivered 05-06."""
    engine = warehouse.create_warehouse_engine(url)
    warehouse.ensure_warehouse(engine)
    rows = [("yotpo_reviews", DAY - timedelta(days=n), 10, f"run-{n}") for n in range(5, 0, -1)]
    rows += [("yotpo_reviews", DAY, 1, "first-attempt"), ("yotpo_reviews", DAY, 2, "run-0"),
             ("retailer_reviews", date(2025, 5, 2), 7, "run-4"), ("products", DAY, 3, "run-0")]
    for i, (source, day, n, run_id) in enumerate(rows):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
        warehouse.record_run(engine, {"run_id": run_id, "source": source, "delivery_date": day, "started_at": at,
                                      "finished_at": at, "status": "success", "records_read": n,
                                      "attempt_id": f"a{i}", "message": "ok"})
    warehouse.record_run(engine, {"run_id": "run-0", "source": "retailer_reviews", "delivery_date": DAY,
                                  "started_at": at, "finished_at": at, "status": "no_delivery", "records_read": 0,
                                  "attempt_id": "nd", "message": "no delivery"})
    engine.dispose()


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
def test_the_same_history_gives_the_same_verdict_on_both_warehouses(kind, tmp_path, request):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}" if kind == "duckdb" else request.getfixturevalue("new_pg_url")("checks")
    _history(url)

    report = check_deliveries(Settings(warehouse_url=url, source_checks=CHECKS), [DAY], "run-0")

    assert report.problems == [
        "retailer_reviews is required and has delivered nothing for 4 days (last delivery 2025-05-02, checked on "
        "2025-05-06; UGC_SOURCE_CHECKS allows 2)",
        "yotpo_reviews delivered 2 records on 2025-05-06: 20% of its average of 10.0 over the 5 deliveries of the "
        "previous 28 days (at least 30% expected)"]
    assert not report.nothing_delivered
