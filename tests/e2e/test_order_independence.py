"""The order in which delivery days are processed does not matter: in order, reversed, shuffled
(marts built after each day, through the functions the DAG tasks call), or every day ingested
first and the marts built once (through Airflow), the raw layer, the quarantine and the marts are
identical; and a re-delivered item (edited review, deleted review, grown Instagram metrics,
restated daily facts) replaces its earlier version whichever day is processed last."""

from __future__ import annotations

import pytest
from support.expected import MV, A, assert_same_values
from support.landing_builder import DAYS, IG1_ID
from support.runs import ORDERS, SHUFFLED, Run, airflow_settings, by_key, diff_snapshots, fetch, snapshot

OTHER_ORDERS = [label for label in ORDERS if label != "forward"]


def test_orders_under_test_really_differ():
    assert SHUFFLED not in (DAYS, list(reversed(DAYS)))
    assert sorted(SHUFFLED) == DAYS


@pytest.mark.parametrize("label", OTHER_ORDERS)
def test_day_order_gives_identical_raw_and_marts(direct_runs, label):
    assert diff_snapshots(snapshot(direct_runs["forward"]), snapshot(direct_runs[label])) == []


@pytest.mark.airflow
def test_all_days_ingested_through_airflow_then_marts_once_match_the_ordered_run(
        airflow_runner, direct_runs, landing, tmp_path):
    """Every day ingested first, in shuffled order (``run_days(..., build_marts_each_day=False)``),
    then the marts built once (``run_marts_once()``), as a backfill with ``--marts-at-end`` does."""
    settings = airflow_settings(landing, tmp_path)
    reference = snapshot(direct_runs["forward"])

    results = airflow_runner.run_days(SHUFFLED, settings, build_marts_each_day=False, progress=lambda _m: None)
    assert [(r.delivery_date, r.ingest_state, r.marts_state, r.failed_tasks) for r in results] == [
        (day, "success", None, []) for day in SHUFFLED]
    assert airflow_runner.run_marts_once(progress=lambda _m: None) == "success"
    run = Run("airflow-shuffled", settings, tmp_path / "warehouse.duckdb")
    assert diff_snapshots(reference, snapshot(run)) == []
    assert_latest_versions_win(run, "airflow, shuffled, marts once")


@pytest.mark.airflow
def test_a_backfill_in_one_ingest_run_matches_the_ordered_run(airflow_runner, direct_runs, landing, tmp_path):
    """``ugc-pipeline backfill``: one ``ugc_ingest`` run over every day (``delivery_date`` to
    ``through_date``: each source task loads the days in order, a run record per day), then the
    marts once: raw, quarantine and marts equal the day-by-day run's."""
    settings = airflow_settings(landing, tmp_path)
    reference = snapshot(direct_runs["forward"])

    result = airflow_runner.run_backfill(DAYS[0], DAYS[-1], settings, progress=lambda _m: None)

    assert (result.ingest_state, result.marts_state, result.failed_tasks) == ("success", "success", [])
    run = Run("airflow-backfill", settings, tmp_path / "warehouse.duckdb")
    assert diff_snapshots(reference, snapshot(run)) == []
    records = fetch(run, "select source, delivery_date, status from audit.pipeline_runs")
    assert len(records) == len(DAYS) * len({r["source"] for r in records})  # one record per source and day
    assert_latest_versions_win(run, "airflow, backfill in one run")


@pytest.mark.parametrize("label", list(ORDERS))
def test_redelivered_items_replace_earlier_versions_in_any_order(direct_runs, label):
    assert_latest_versions_win(direct_runs[label], label)


def assert_latest_versions_win(run: Run, label: str) -> None:
    # raw keeps every delivered version: IG1 from 05-06 and from 05-08, Yotpo 1001 from 05-05 and 05-07
    versions = fetch(run, "select delivery_date, like_count from raw.instagram_media where id = :m "
                          "order by delivery_date", m=IG1_ID)
    assert versions == [{"delivery_date": "2025-05-06", "like_count": "40"},
                        {"delivery_date": "2025-05-08", "like_count": "60"}]
    assert fetch(run, "select count(*) as n from raw.yotpo_reviews where id = '1001'") == [{"n": 2}]

    ugc = by_key(fetch(run, "select * from marts.ugc_daily"),
                 "kpi_date", "brand", "sku", "platform", "content_type", "influencer_tier")
    # Yotpo 1001 edited on 05-07 (score 2 -> 4); 1002 deleted on 05-07: one review, rated 4
    assert_same_values(ugc[("2025-05-05", MV, A, "yotpo", "review", "unknown")],
                       {"ugc_count": 1, "rating_count": 1, "avg_rating": 4.0}, label)
    # Google G1 delivered on 05-06 and again on 05-07: counted once (G1, G3, G4)
    assert_same_values(ugc[("2025-05-05", MV, None, "google_business", "review", "unknown")],
                       {"ugc_count": 3, "rating_count": 2, "avg_rating": 4.5}, label)

    reach = by_key(fetch(run, "select * from marts.reach_daily"),
                   "kpi_date", "brand", "sku", "platform", "influencer_tier")
    # IG1's metrics as of 05-08: views 1500; 60 likes + 8 comments + 4 shares + 10 saved
    assert_same_values(reach[("2025-05-05", MV, A, "instagram", "nano")],
                       {"post_count": 1, "views": 1500, "engagements": 82}, label)

    conversion = by_key(fetch(run, "select * from marts.conversion_daily"), "kpi_date", "sku")
    # web facts of 05-05 restated on 05-08 (orders 4 -> 5): 5/100, variation (17/700)/(56/2800) - 1
    assert_same_values(conversion[("2025-05-05", A)],
                       {"orders": 5, "conversion_rate": 0.05, "conversion_variation": 3 / 14}, label)

    # store panel of ST-LIL-01 on 05-06 restated on 05-08 (12 -> 15 units): 15 per test store and day
    uplift = fetch(run, "select test_during, uplift from marts.sales_uplift")
    assert_same_values(uplift[0], {"test_during": 15.0, "uplift": 0.25}, label)
