"""Re-running a delivery day changes nothing: every raw and mart table (and the quarantine) stays
identical, apart from the columns that name the run (run_id, loaded_at, rejected_at).
``audit.pipeline_runs`` is the run history: it grows by one row per source and run."""

from __future__ import annotations

from support.landing_builder import DAYS
from support.runs import copy_run, diff_snapshots, fetch, ingest_day, snapshot, warehouse_tables
from ugc_pipeline.pipeline import build_marts
from ugc_pipeline.sources import SOURCES, raw_tables


def test_snapshot_covers_every_raw_and_mart_table(direct_runs):
    tables = warehouse_tables(direct_runs["forward"])
    assert {t for t in tables if t.startswith("raw.")} == {f"raw.{t.name}" for t in raw_tables()}
    assert {t for t in tables if t.startswith("marts.")} == {
        "marts.ugc_daily", "marts.reach_daily", "marts.conversion_daily", "marts.sales_uplift",
        "marts.campaign_summary", "marts.review_bucket_conversion", "marts.dim_products", "marts.dim_campaigns"}
    # marts.data_freshness reports the run history (support.runs.RUN_HISTORY_MARTS); its values
    # are checked on the by-hand runs (support.expected)
    assert "audit.rejected_records" in tables


# The two richest days: 05-07 (an edited and a deleted review, one id twice in a file, a
# quarantined row, CSV with BOM/';'/quoted newline, NDJSON) and 05-08 (two files per source,
# restatements, a source feeding two raw tables).
RERUN_DAYS = [DAYS[2], DAYS[3]]


def test_rerunning_a_day_leaves_every_table_identical(direct_runs, tmp_path):
    reference = direct_runs["forward"]
    before = snapshot(reference)
    run = copy_run(reference, tmp_path, "rerun")

    differences = {}
    for day in RERUN_DAYS:  # the day run a second time, marts rebuilt, compared with the first run
        ingest_day(run.settings, day, f"e2e-rerun-{day}", delivered_only=True)
        build_marts(run.settings)
        diff = diff_snapshots(before, snapshot(run))
        if diff:
            differences[day.isoformat()] = diff

    assert differences == {}
    # the run history is append-only: the 4 first runs (14 sources each) are still there, and
    # every rerun of a delivered source added its row (7 deliveries on 05-07, 5 on 05-08)
    runs = fetch(run, "select run_id like 'e2e-rerun-%' as rerun, count(*) as n from audit.pipeline_runs "
                      "group by 1 order by 1")
    assert runs == [{"rerun": False, "n": 4 * len(SOURCES)}, {"rerun": True, "n": 12}]


def test_building_the_marts_twice_changes_nothing(direct_runs, tmp_path):
    reference = direct_runs["forward"]
    run = copy_run(reference, tmp_path, "rebuild")
    before = snapshot(run)
    build_marts(run.settings)
    assert diff_snapshots(before, snapshot(run)) == []
