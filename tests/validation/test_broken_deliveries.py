"""A day whose delivery is broken: the source's task fails with one line naming the file (and for
a rejected share over the threshold, the expectation and the counts); nothing of the delivery
loads, the marts are not rebuilt from it, the warehouse is left as it was, and a failed run record
is written. Once the export is fixed and re-delivered, rerunning the day loads it.

Every case starts from a warehouse holding a good DAY of every source and its marts
(``good_day_env``) and delivers the broken export on NEXT_DAY (``corpus.BROKEN_CASES``).
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest
from corpus import (
    BROKEN_CASES,
    DAY,
    NEXT_DAY,
    OVER_THRESHOLD,
    PRODUCTS_CSV,
    WRONG_ENCODING,
    google_file,
    google_review,
    next_export,
    yotpo_file,
    yotpo_review,
)
from corpus import ok as good
from ugc_pipeline.parse import DeliveryError
from ugc_pipeline.settings import Settings, SettingsError
from ugc_pipeline.sources import SOURCES

CASE_BY_ID = {c.id: c for c in BROKEN_CASES}


def assert_same_state(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    """Every table of two ``Env.snapshot()`` results is identical (row for row, value for value)."""
    assert sorted(before) == sorted(after), "the set of tables changed"
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)


def failed_ingest(env, source: str, day: str, run_id: str) -> str:
    """Ingest a delivery that must stop; returns the DeliveryError's message."""
    with pytest.raises(DeliveryError) as err:
        env.ingest(source, day, run_id=run_id)
    return str(err.value)


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message


# -- every broken delivery of the corpus -------------------------------------------------------

@pytest.mark.parametrize("case", BROKEN_CASES, ids=lambda c: c.id)
def test_a_broken_delivery_stops_with_one_line_and_leaves_the_warehouse_as_it_was(good_day_env, good_day_state,
                                                                                 case):
    env = good_day_env
    before, runs_before = good_day_state  # the state of the good_day_env copy before anything below
    env.deliver(case.source, NEXT_DAY, case.files)

    message = failed_ingest(env, case.source, NEXT_DAY, "run-broken")

    assert_one_line(message)
    assert re.fullmatch(case.error, message), message  # names the file ('.' never matches a newline)
    assert_same_state(before, env.snapshot())  # raw, marts and quarantine as they were
    runs = env.runs()
    assert runs[: len(runs_before)] == runs_before
    [run] = runs[len(runs_before):]
    assert (run["run_id"], run["source"], run["delivery_date"], run["status"], run["records_loaded"],
            run["records_rejected"], run["message"]) == (
        "run-broken", case.source, NEXT_DAY, "failed", 0, 0, message)


# Re-delivering the fixed export and rerunning the day: every over-threshold case (one per source)
# and one case of every other kind.
FIXED_CASES = [c for c in BROKEN_CASES if c.kind == OVER_THRESHOLD] + [CASE_BY_ID[i] for i in (
    "google_business_reviews-truncated-json", "ambassador_posts-truncated-ndjson", "instagram_media-empty-file",
    "retailer_reviews-wrong-header", "youtube_videos-latin-1", "wom_surveys-utf-16",
    "retailer_reviews-latin-1-after-64k", "products-ragged-row", "tiktok_videos-api-error-page",
    "youtube_videos-unknown-kind")]


@pytest.mark.parametrize("case", FIXED_CASES, ids=lambda c: c.id)
def test_after_the_export_is_fixed_and_redelivered_rerunning_the_day_loads_it(good_day_env, case):
    env = good_day_env
    env.deliver(case.source, NEXT_DAY, case.files)
    failed_ingest(env, case.source, NEXT_DAY, "run-broken")

    env.deliver(case.source, NEXT_DAY, case.fixed)
    result = env.ingest(case.source, NEXT_DAY, run_id="run-fixed")

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == (
        "success", *case.fixed_counts)
    assert [r["status"] for r in env.runs(delivery_date=NEXT_DAY)] == ["failed", "success"]
    assert env.rejects(case.source, NEXT_DAY) == []
    loaded = sum(env.q(f"select count(*) as n from raw.{t.name} where delivery_date = cast(:d as date)",
                       d=NEXT_DAY)["n"][0] for t in SOURCES[case.source].tables)
    assert loaded == case.fixed_counts[1]


def test_marts_rebuilt_after_a_day_of_broken_deliveries_are_unchanged(good_day_env):
    """A broken NEXT_DAY for every source at once (the over-threshold cases: they get furthest,
    through GX, before stopping): every source fails, and rebuilding the marts gives the same marts."""
    env = good_day_env
    before = env.snapshot()
    cases = [c for c in BROKEN_CASES if c.kind == OVER_THRESHOLD]
    assert len({c.source for c in cases}) == len(cases) == len(SOURCES)
    for case in cases:
        env.deliver(case.source, NEXT_DAY, case.files)
        message = failed_ingest(env, case.source, NEXT_DAY, "run-broken-day")
        assert re.fullmatch(case.error, message), message

    env.build()

    after = env.snapshot()
    # marts.data_freshness reports the run history: now one failed day per source, nothing else
    freshness = after.pop("marts.data_freshness")
    assert set(zip(freshness["source"], freshness["failed_days"], strict=True)) == {(c.source, 1) for c in cases}
    before.pop("marts.data_freshness")
    assert_same_state(before, after)
    statuses = {r["source"]: r["status"] for r in env.runs(run_id="run-broken-day")}
    assert statuses == {c.source: "failed" for c in cases}


@pytest.mark.parametrize("case_id", ["yotpo_reviews-truncated-json", "yotpo_reviews-over-threshold",
                                     "retailer_reviews-wrong-header"])
def test_a_broken_redelivery_of_a_loaded_day_keeps_the_earlier_load(good_day_env, case_id):
    """DAY was loaded; a broken re-delivery of DAY stops and the earlier load of DAY stays."""
    env = good_day_env
    case = CASE_BY_ID[case_id]
    before = env.snapshot()
    loaded_before = env.q(f"select count(*) as n from raw.{case.source} where delivery_date = cast(:d as date)",
                          d=DAY)["n"][0]
    env.deliver(case.source, DAY, case.files)

    message = failed_ingest(env, case.source, DAY, "run-redelivery")

    assert re.fullmatch(case.error.replace(re.escape(f"/{NEXT_DAY}/"), re.escape(f"/{DAY}/")), message), message
    assert loaded_before > 0
    assert_same_state(before, env.snapshot())


# -- the rejected-share threshold ---------------------------------------------------------------

def _yotpo_page(bad: int, total: int = 4) -> dict[str, bytes]:
    reviews = [good(yotpo_review(487000900 + i, score=6 if i >= total - bad else 5)) for i in range(total)]
    return {"page.json": yotpo_file("page.json", reviews).render()}


def _google_page(bad: int, total: int = 4) -> dict[str, bytes]:
    reviews = [good(google_review(f"AbFvOqnQth{i:04d}", stars="SIX" if i >= total - bad else "FIVE"))
               for i in range(total)]
    return {"page.json": google_file("page.json", reviews).render()}


def test_threshold_is_configurable_per_source(business_env):
    env = business_env.with_settings(max_rejected_share="yotpo_reviews=0.2")
    env.deliver("yotpo_reviews", DAY, _yotpo_page(bad=1))
    env.deliver("google_business_reviews", DAY, _google_page(bad=1))

    message = failed_ingest(env, "yotpo_reviews", DAY, "run-thr")
    google = env.ingest("google_business_reviews", DAY, run_id="run-thr")

    assert message == (
        f"yotpo_reviews/{DAY}/page.json $.reviews[3]: 1 of 4 records (25%) failed their expectations, over the "
        "20% threshold for yotpo_reviews; most failed: 'score between 1 and 5' (1)")
    assert (google.records_loaded, google.records_rejected) == (3, 1)  # the default 50% still applies to google
    assert env.rejects("yotpo_reviews") == []
    assert env.q("select count(*) as n from raw.yotpo_reviews")["n"][0] == 0


def test_threshold_for_every_source(business_env):
    env = business_env.with_settings(max_rejected_share="0.1")
    env.deliver("google_business_reviews", DAY, _google_page(bad=1))

    message = failed_ingest(env, "google_business_reviews", DAY, "run-thr")

    assert message == (
        f"google_business_reviews/{DAY}/page.json $.reviews[3]: 1 of 4 records (25%) failed their expectations, "
        "over the 10% threshold for google_business_reviews; most failed: "
        "'starRating in (ONE, TWO, THREE, FOUR, FIVE, STAR_RATING_UNSPECIFIED)' (1)")


def test_a_share_equal_to_the_threshold_is_not_over_it(business_env):
    env = business_env
    env.deliver("yotpo_reviews", DAY, _yotpo_page(bad=2))

    result = env.ingest("yotpo_reviews", DAY)

    assert (result.status, result.records_loaded, result.records_rejected) == ("success", 2, 2)


def test_threshold_one_quarantines_a_delivery_of_only_bad_records(business_env):
    env = business_env.with_settings(max_rejected_share="yotpo_reviews=1")
    env.deliver("yotpo_reviews", DAY, _yotpo_page(bad=4))

    result = env.ingest("yotpo_reviews", DAY)

    assert (result.status, result.records_loaded, result.records_rejected) == ("success", 0, 4)
    assert len(env.rejects("yotpo_reviews")) == 4


def test_threshold_settings_come_from_the_environment():
    settings = Settings.load(environ={"UGC_MAX_REJECTED_SHARE": "0.2, yotpo_reviews=0.05,retailer_reviews=0.3"})

    assert settings.max_rejected_share == "0.2, yotpo_reviews=0.05,retailer_reviews=0.3"
    assert settings.rejected_share_threshold("yotpo_reviews", 0.5) == 0.05
    assert settings.rejected_share_threshold("retailer_reviews", 0.5) == 0.3
    assert settings.rejected_share_threshold("tiktok_videos", 0.5) == 0.2
    assert Settings.load(environ={}).rejected_share_threshold("tiktok_videos", 0.5) == 0.5


@pytest.mark.parametrize("value", ["yotpo_reviews=1.5", "beaucoup", "yotpo_reviews=-0.1"])
def test_a_malformed_threshold_is_a_one_line_settings_error(value):
    with pytest.raises(SettingsError) as err:
        Settings(max_rejected_share=value)

    assert_one_line(str(err.value))
    assert str(err.value).startswith("UGC_MAX_REJECTED_SHARE: ")


# -- known gaps, now closed (they were strict xfails) --------------------------------------

def test_the_run_record_of_a_delivery_over_the_threshold_counts_what_was_read(good_day_env):
    env = good_day_env
    case = CASE_BY_ID["yotpo_reviews-over-threshold"]
    env.deliver(case.source, NEXT_DAY, case.files)

    failed_ingest(env, case.source, NEXT_DAY, "run-thr-record")

    [run] = env.runs(run_id="run-thr-record")
    assert (run["files_read"], run["records_read"], run["records_loaded"]) == (1, 4, 0)


@pytest.mark.parametrize("case", [c for c in BROKEN_CASES if c.unclear], ids=lambda c: c.id)
def test_an_unreadable_csv_says_what_is_wrong_and_where(env, case):
    """Latin-1 bytes in a data row, even past the first 64 KiB, say the file is not UTF-8 and on which
    line (not 'of the header', not DuckDB's 'CSV Error on Line'); rows with a field too many say which
    line and why (not DuckDB's 'Error when sniffing file')."""
    env.deliver(case.source, NEXT_DAY, case.files)

    message = failed_ingest(env, case.source, NEXT_DAY, "run-unclear")

    assert re.search(r"\b(line|row)\b:? \d+", message, re.IGNORECASE), message
    if case.kind == WRONG_ENCODING:
        assert "utf-8" in message.lower() and "header" not in message, message
    else:
        assert "sniffing" not in message, message


def test_a_row_with_one_field_too_many_never_loads_shifted_values(business_env):
    """DuckDB's reader accepted such a row with its extra field dropped, shifted (brand '25 cl',
    category 'Maison Verte'); the row is now quarantined whole, as delivered."""
    env = business_env
    env.deliver("products", DAY, {"products.csv": PRODUCTS_CSV + "MV-HNO-250,,Huile de noix, 25 cl,Maison Verte,\n"})

    try:
        env.ingest("products", DAY)
    except DeliveryError as exc:  # stopping the delivery, naming the file, is a fine outcome
        assert f"products/{DAY}/products.csv" in str(exc)

    loaded = env.records("select product_name, brand, category from raw.products where sku = 'MV-HNO-250'")
    assert loaded in ([], [{"product_name": "Huile de noix, 25 cl", "brand": "Maison Verte", "category": None}])


# -- through Airflow --------------------------------------------------------------------------

@pytest.mark.airflow
def test_a_broken_delivery_through_airflow_fails_its_task_and_the_marts_keep_their_state(
        good_day_env, ugc_environ):
    from airflow.sdk.exceptions import AirflowFailException
    from ugc_pipeline.airflow_support import run_ingest_task
    from ugc_pipeline.runner import export_settings, run_days

    env = good_day_env
    case = CASE_BY_ID["retailer_reviews-wrong-header"]
    env.deliver(case.source, NEXT_DAY, case.files)
    env.deliver("yotpo_reviews", NEXT_DAY, next_export("yotpo_reviews"))  # a good source the same day
    marts_before = env.snapshot(schemas=("marts",))
    env.close()
    progress: list[str] = []

    [day] = run_days([date.fromisoformat(NEXT_DAY)], env.settings, progress=progress.append)

    assert (day.ingest_state, day.marts_state, day.ok) == ("failed", None, False)
    assert day.failed_tasks == ["ingest_retailer_reviews", "publish_staging"]  # publish_staging: upstream_failed
    marts_after = env.snapshot(schemas=("marts",))
    for table in marts_before:
        if table.startswith("marts."):
            assert_same_state({table: marts_before[table]}, {table: marts_after[table]})
    runs = {r["source"]: r for r in env.runs(delivery_date=NEXT_DAY)}
    assert runs["retailer_reviews"]["status"] == "failed"
    expected = runs["retailer_reviews"]["message"]
    assert re.fullmatch(case.error, expected)
    assert runs["yotpo_reviews"]["status"] == "success"  # one broken export fails only its task
    loaded = env.records("select count(*) filter (where delivery_date = cast(:d as date)) as n from raw.retailer_reviews",
                         d=NEXT_DAY)
    assert loaded == [{"n": 0}]
    assert env.q("select count(*) as n from raw.yotpo_reviews where delivery_date = cast(:d as date)",
                 d=NEXT_DAY)["n"][0] == 4
    assert {r["status"] for s, r in runs.items() if s not in ("retailer_reviews", "yotpo_reviews")} == {"no_delivery"}
    assert any(line.strip().endswith(expected) and "failed" in line for line in progress), progress

    # The task's failure: AirflowFailException with one line, "<source> <day>: <file>: <what>"
    # (what the task log and the UI show), raised by the task body the DAG runs.
    export_settings(env.settings)
    with pytest.raises(AirflowFailException) as exc:
        run_ingest_task("retailer_reviews", {"params": {"delivery_date": NEXT_DAY}, "run_id": "direct"})
    assert str(exc.value) == f"retailer_reviews {NEXT_DAY}: {expected}"
    assert_one_line(str(exc.value))

    # A backfill over both days (one task, the days in order): the good day loads again, the broken
    # one does not stop it, and the task fails at the end naming the day to fix
    with pytest.raises(AirflowFailException) as exc:
        run_ingest_task("retailer_reviews", {"params": {"delivery_date": DAY, "through_date": NEXT_DAY},
                                             "run_id": "backfill"})
    assert str(exc.value) == (f"retailer_reviews: 1 of 2 deliveries failed (each other day loaded; rerun these "
                              f"after the fix): {NEXT_DAY}: {expected}")
    assert [(r["delivery_date"], r["status"]) for r in env.runs(run_id="backfill")] == [
        (DAY, "success"), (NEXT_DAY, "failed")]


def test_an_empty_gx_dir_from_the_environment_means_in_memory():
    """What the Airflow tests rely on: runner.export_settings exports Settings(gx_dir="") as
    UGC_GX_DIR="", which the tasks read back as "validate in memory" (no Data Docs)."""
    assert Settings.load(environ={"UGC_GX_DIR": ""}).gx_dir == ""
    assert Settings.load(environ={}).gx_dir == "./data/gx"
