"""Missing and thin deliveries are visible: ``check_deliveries`` (the ingest DAG's check task)
judges the run history that real loads wrote to ``audit.pipeline_runs``, against the
``UGC_SOURCE_CHECKS`` setting: a day without any delivery, a required source missing for more days
than allowed, a delivery far below its source's recent average. No Airflow, a real DuckDB file."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest
from support.warehouse_env import PRODUCTS_CSV
from test_staging import yotpo_review
from ugc_pipeline.checks import check_deliveries
from ugc_pipeline.settings import Settings, SettingsError, parse_source_checks

REQUIRED_YOTPO = json.dumps({"yotpo_reviews": {"required": True, "max_days_without_delivery": 1,
                                               "min_volume_share": 0.3}})


def _deliver_yotpo(env, day: str, n: int, first_id: int) -> None:
    env.write("yotpo_reviews", day, "page-1.json", {"reviews": [
        yotpo_review(first_id + i, f"{day}T08:{i:02d}:00Z") for i in range(n)]})
    env.ingest("yotpo_reviews", day, run_id=f"run-{day}")


@pytest.fixture
def history(env):
    """Yotpo delivered 10 reviews a day from 05-01 to 05-04 (loaded by the real ingest)."""
    env.deliver_business()
    for n, day in enumerate(("2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04")):
        _deliver_yotpo(env, day, 10, 487100000 + 100 * n)
    env.with_settings(source_checks=REQUIRED_YOTPO)
    return env


def test_a_usual_delivery_of_a_required_source_passes(history):
    _deliver_yotpo(history, "2025-05-05", 8, 487200000)

    report = check_deliveries(history.settings, [date(2025, 5, 5)], "run-2025-05-05")

    assert report.ok, report.problems
    assert "yotpo_reviews: last delivery 2025-05-05, 0 day(s) without delivery on 2025-05-05 (at most 1 allowed)" \
        in report.lines
    assert ("yotpo_reviews delivered 8 records on 2025-05-05: 80% of its average of 10.0 over the 4 deliveries of "
            "the previous 28 days (at least 30% expected)") in report.lines


def test_a_delivery_far_below_the_recent_average_fails_naming_source_day_and_figures(history):
    _deliver_yotpo(history, "2025-05-05", 2, 487200000)

    report = check_deliveries(history.settings, [date(2025, 5, 5)], "run-2025-05-05")

    assert report.problems == [
        "yotpo_reviews delivered 2 records on 2025-05-05: 20% of its average of 10.0 over the 4 deliveries of the "
        "previous 28 days (at least 30% expected)"]
    # a rerun of the day with the full export replaces the thin load: the latest load counts
    _deliver_yotpo(history, "2025-05-05", 9, 487200000)
    assert check_deliveries(history.settings, [date(2025, 5, 5)], "run-2025-05-05").ok


def _deliver_products(env, day: str, run_id: str) -> None:
    """Something else than the required source delivered that day: not a day without any delivery."""
    env.write("products", day, "products.csv", PRODUCTS_CSV)
    env.ingest("products", day, run_id=run_id)


def test_a_required_source_missing_for_more_days_than_allowed_fails(history):
    for day in ("2025-05-05", "2025-05-06"):
        _deliver_products(history, day, run_id=f"run-{day[-2:]}")
        history.ingest("yotpo_reviews", day, run_id=f"run-{day[-2:]}")  # no folder: nothing delivered
    # one day without delivery is allowed (max_days_without_delivery = 1)
    assert check_deliveries(history.settings, [date(2025, 5, 5)], "run-05").problems == []

    report = check_deliveries(history.settings, [date(2025, 5, 6)], "run-06")

    assert report.problems == [
        "yotpo_reviews is required and has delivered nothing for 2 days (last delivery 2025-05-04, checked on "
        "2025-05-06; UGC_SOURCE_CHECKS allows 1)"]
    # the same history with the source optional: nothing to say
    assert check_deliveries(replace(history.settings, source_checks=""), [date(2025, 5, 6)], "run-06").ok


def test_a_required_source_that_never_delivered_fails(env):
    env.deliver_business()
    env.with_settings(source_checks=json.dumps({"retailer_reviews": {"required": True}}))
    _deliver_products(env, "2025-05-06", run_id="run-06")

    report = check_deliveries(env.settings, [date(2025, 5, 6)], "run-06")

    assert report.problems == ["retailer_reviews is required and has never delivered (no delivery up to 2025-05-06)"]


def test_a_day_on_which_no_source_delivered_anything_fails_even_with_every_source_optional(env):
    (env.root / "yotpo_reviews" / "2025-05-06").mkdir(parents=True)  # an empty folder: nothing delivered
    for source in ("products", "yotpo_reviews", "instagram_media"):
        assert env.ingest(source, "2025-05-06", run_id="empty-day").status == "no_delivery"

    report = check_deliveries(env.settings, [date(2025, 5, 6)], "empty-day")

    assert report.nothing_delivered
    [problem] = report.problems
    assert problem.startswith("no source delivered anything for 2025-05-06 (14 sources, landing zone ")
    assert "the marts are not rebuilt" in problem


def test_a_delivery_on_a_day_is_not_an_empty_day(history):
    history.ingest("instagram_media", "2025-05-04", run_id="run-2025-05-04")  # no folder
    report = check_deliveries(history.settings, [date(2025, 5, 4)], "run-2025-05-04")
    assert not report.nothing_delivered and report.ok, report.problems


def test_the_volume_is_not_judged_on_a_short_history(env):
    env.deliver_business()
    env.with_settings(source_checks=REQUIRED_YOTPO)
    _deliver_yotpo(env, "2025-05-01", 50, 487300000)
    _deliver_yotpo(env, "2025-05-02", 1, 487300100)

    report = check_deliveries(env.settings, [date(2025, 5, 2)], "run-2025-05-02")

    assert report.ok, report.problems
    assert ("yotpo_reviews: 1 records on 2025-05-02; volume not judged (1 earlier deliveries in 28 days, 3 needed)"
            in report.lines)


def test_the_source_checks_setting():
    checks = parse_source_checks(json.dumps({"*": {"max_days_without_delivery": 3},
                                             "yotpo_reviews": {"required": True}, "products": {"min_volume_share": 0.5}}))
    assert (checks["yotpo_reviews"].required, checks["yotpo_reviews"].max_days_without_delivery,
            checks["yotpo_reviews"].min_volume_share) == (True, 3, 0.2)  # required: volume checked by default
    assert (checks["products"].required, checks["products"].min_volume_share) == (False, 0.5)
    assert (checks["tiktok_videos"].required, checks["tiktok_videos"].min_volume_share) == (False, 0.0)
    assert Settings.load({"UGC_SOURCE_CHECKS": '{"wom_surveys": {"required": true}}'}).required_sources == ("wom_surveys",)
    assert Settings.load({}).required_sources == ()


@pytest.mark.parametrize(("value", "message"), [
    ("yotpo_reviews=required", "UGC_SOURCE_CHECKS is not valid JSON"),
    ('{"yotpo": {"required": true}}', "UGC_SOURCE_CHECKS: unknown source(s) yotpo"),
    ('{"yotpo_reviews": {"required": "yes"}}', "UGC_SOURCE_CHECKS['yotpo_reviews'].required must be true or false"),
    ('{"yotpo_reviews": {"min_volume_share": 30}}', "min_volume_share must be a share between 0 and 1, got 30"),
    ('{"yotpo_reviews": {"max_days_without_delivery": -1}}', "max_days_without_delivery must be a whole number >= 0"),
    ('{"yotpo_reviews": {"freshness": 2}}', "must be an object with keys among"),
])
def test_a_bad_source_checks_setting_is_a_clear_error(value, message):
    with pytest.raises(SettingsError) as caught:
        Settings.load({"UGC_SOURCE_CHECKS": value})
    assert message in str(caught.value)


def test_publish_staging_skips_a_day_without_any_delivery_but_publishes_a_withdrawal(tmp_path, monkeypatch):
    """No delivery anywhere: nothing changed in raw, so no staging asset and no marts run. A
    withdrawn delivery changed raw (its records were removed): the marts must drop them."""
    from airflow.sdk.exceptions import AirflowSkipException
    from ugc_pipeline.airflow_support import publish_staging_task

    monkeypatch.setenv("UGC_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'wh.duckdb'}")
    nothing = [{"source": s, "status": "no_delivery", "records_loaded": 0, "records_withdrawn": 0}
               for s in ("products", "yotpo_reviews")]
    with pytest.raises(AirflowSkipException, match="no source delivered anything"):
        publish_staging_task(nothing)

    withdrawn = [nothing[0], {**nothing[1], "records_withdrawn": 3}]
    assert publish_staging_task(withdrawn) == {"products": 0, "yotpo_reviews": 0}
    loaded = [nothing[0], {**nothing[1], "status": "success", "records_loaded": 5}]
    assert publish_staging_task(loaded) == {"products": 0, "yotpo_reviews": 5}
