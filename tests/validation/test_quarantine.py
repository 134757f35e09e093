"""A day with bad records mixed in, for every source of the registry: the good records load, each
bad one lands in audit.rejected_records with its source, file, position, failed expectation(s)
and raw content, and audit.pipeline_runs says how many were read, loaded and rejected.

The corpus (``corpus.QUARANTINE_CASES``) says, record by record, what must happen and why.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from corpus import (
    BROKEN_CASES,
    CASE_BY_SOURCE,
    DAY,
    DELIVERY_KINDS,
    DUPLICATE,
    DUPLICATE_ID,
    EMPTY_FILE,
    FUTURE,
    FUTURE_TS,
    MISSING,
    NEW_SKU,
    OUT_OF_RANGE,
    OVER_THRESHOLD,
    QUARANTINE_CASES,
    RECORD_KINDS,
    TRUNCATED_JSON,
    TZ,
    UNKNOWN_REF,
    WRONG_ENCODING,
    WRONG_HEADER,
    WRONG_TYPE,
    got,
    kept,
    retailer_file,
    retailer_row,
    tiktok_page,
    tiktok_video,
    yotpo_review,
)
from ugc_pipeline.sources import SOURCES
from ugc_pipeline.validation import build_data_docs


def applicable_record_kinds(source_name: str) -> set[str]:
    """The record-level failures an adapter's declarations can produce."""
    kinds = set()
    for table in SOURCES[source_name].tables:
        if any(c.type != "text" for c in table.columns):
            kinds.add(WRONG_TYPE)
        if any(r.kind in ("between", "in_set") for r in table.rules):
            kinds.add(OUT_OF_RANGE)
        if any(c.required for c in table.columns):
            kinds.add(MISSING)
        if table.key:
            kinds.add(DUPLICATE_ID)
        if table.created_column:
            kinds.add(FUTURE_TS)
        if any(r.kind == "resolves" for r in table.rules):
            kinds.add(UNKNOWN_REF)
    return kinds


def applicable_delivery_kinds(source_name: str) -> set[str]:
    formats = set(SOURCES[source_name].formats)
    kinds = {EMPTY_FILE, WRONG_ENCODING, OVER_THRESHOLD}
    if formats & {"json", "ndjson"}:
        kinds.add(TRUNCATED_JSON)
    if "csv" in formats:
        kinds.add(WRONG_HEADER)
    return kinds


# -- the corpus covers every source and every failure that applies to it -----------------------

def test_corpus_covers_every_source_of_the_registry_with_every_applicable_case():
    assert [c.source for c in QUARANTINE_CASES] == list(SOURCES)
    for source in SOURCES:
        case = CASE_BY_SOURCE[source]
        missing = applicable_record_kinds(source) - case.kinds
        assert not missing, f"{source}: no record-level case for {missing}"
        assert case.kinds <= set(RECORD_KINDS)
        delivered = {c.kind for c in BROKEN_CASES if c.source == source}
        missing = applicable_delivery_kinds(source) - delivered
        assert not missing, f"{source}: no broken-delivery case for {missing}"
        assert delivered <= set(DELIVERY_KINDS)
        # every bad record says why, and the good records are the majority (under the 50% threshold)
        assert all(rec.why for *_, rec in case.records() if rec.kind), source
        assert case.rejected / case.read < SOURCES[source].max_rejected_share, source


# -- a day with bad records mixed in -----------------------------------------------------------

@pytest.mark.parametrize("case", QUARANTINE_CASES, ids=lambda c: c.id)
def test_good_records_load_and_each_bad_one_is_quarantined_with_its_reasons(business_env, case):
    env = business_env
    env.deliver(case.source, DAY, case.contents())

    result = env.ingest(case.source, DAY, run_id="run-mixed")

    assert (result.status, result.records_read, result.records_loaded, result.records_rejected) == (
        "success", case.read, case.read - case.rejected, case.rejected)
    expected = [{"source": case.source, "delivery_date": DAY, **row, "run_id": "run-mixed"}
                for row in case.expected_rejects()]
    actual = env.rejects(case.source, DAY)
    for exp, act in zip(expected, actual, strict=False):  # one row at a time: a readable diff
        assert act == exp, f"{exp['file']} {exp['position']}"
    assert len(actual) == len(expected)

    [run] = env.runs(run_id="run-mixed")
    message = run.pop("message")
    assert run == {"run_id": "run-mixed", "source": case.source, "delivery_date": DAY, "status": "success",
                   "files_read": len(case.files), "records_read": case.read,
                   "records_loaded": case.read - case.rejected, "records_rejected": case.rejected}
    assert re.fullmatch(
        rf"{case.source} {DAY}: success, {len(case.files)} file\(s\), {case.read} read, "
        rf"{case.read - case.rejected} loaded, {case.rejected} rejected \(\d+\.\d+s\)", message), message

    loaded = []
    for table in SOURCES[case.source].tables:
        loaded += [(r["source_file"], r["record_position"]) for r in env.records(
            f"select source_file, record_position from raw.{table.name} where delivery_date = cast(:d as date)", d=DAY)]
    from corpus import position_key

    assert sorted(loaded, key=lambda r: (r[0], position_key(r[1]))) == case.expected_loaded()


def test_rerunning_a_day_replaces_its_quarantine_without_duplicating_it(business_env):
    env = business_env
    env.deliver("yotpo_reviews", DAY, CASE_BY_SOURCE["yotpo_reviews"].contents())
    env.ingest("yotpo_reviews", DAY, run_id="run-1")
    first = env.rejects()
    env.ingest("yotpo_reviews", DAY, run_id="run-2")
    second = env.rejects()

    assert [{**r, "run_id": "run-2"} for r in first] == second
    assert len(second) == CASE_BY_SOURCE["yotpo_reviews"].rejected
    assert env.q("select count(*) as n from raw.yotpo_reviews")["n"][0] == \
        CASE_BY_SOURCE["yotpo_reviews"].read - CASE_BY_SOURCE["yotpo_reviews"].rejected


def test_references_are_not_checked_before_the_business_table_was_ever_loaded(env):
    """Documented: on a fresh warehouse the reference check is skipped (with a warning)."""
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000301, NEW_SKU), yotpo_review(487000302, score=9)]}})

    result = env.ingest("yotpo_reviews", DAY)

    assert (result.records_loaded, result.records_rejected) == (1, 1)
    assert [r["reasons"] for r in env.rejects()] == ["score between 1 and 5" + got(9)]


# -- GX Data Docs ------------------------------------------------------------------------------

def test_data_docs_are_written_under_gx_dir(business_env, tmp_path):
    gx_dir = tmp_path / "gx"
    env = business_env.with_settings(gx_dir=str(gx_dir))
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [yotpo_review(487000401), yotpo_review(487000402),
                                                                 yotpo_review(487000403, score=0)]}})

    result = env.ingest("yotpo_reviews", DAY)
    url = build_data_docs(str(gx_dir))  # what the DAGs' data_docs task does after the sources

    assert result.records_rejected == 1
    [index] = [p for p in gx_dir.rglob("index.html") if "local_site" in p.parts]
    assert url == index.resolve().as_uri()
    assert "ugc.yotpo_reviews" in index.read_text(encoding="utf-8")
    assert any(Path(p).suffix == ".json" for p in gx_dir.rglob("*") if "expectations" in Path(p).parts)


# -- regressions (each was a bug found by this suite) ------------------------------------------

@pytest.mark.parametrize(("product_id", "gtin", "shown"), [("MV-XXX-000", None, "MV-XXX-000"),
                                                           (None, "03760999999999", "03760999999999")],
                         ids=["unknown-sku-blank-gtin", "blank-sku-unknown-gtin"])
def test_retailer_review_of_an_unknown_product_with_one_blank_identifier_is_quarantined(
        business_env, product_id, gtin, shown):
    env = business_env
    spec = retailer_file("export.csv", [])
    rows = [retailer_row("RV-9001"), retailer_row("RV-9002"), retailer_row("RV-9003", product_id, gtin=gtin)]
    env.deliver("retailer_reviews", DAY, {"export.csv": spec.render(rows)})

    env.ingest("retailer_reviews", DAY)

    assert [(r["position"], r["reasons"]) for r in env.rejects()] == [
        ("row 3", "product_id in products.sku or gtin in products.gtin" + got(shown))]


def test_a_creation_time_at_the_first_instant_of_d_plus_2_is_in_the_future(business_env):
    env = business_env
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000501), yotpo_review(487000502), yotpo_review(487000503, created="2025-05-07T22:00:00Z")]}})

    env.ingest("yotpo_reviews", DAY)

    assert [r["position"] for r in env.rejects()] == ["$.reviews[2]"]


def test_a_daily_fact_dated_d_plus_2_is_in_the_future_in_a_zone_behind_utc(business_env):
    env = business_env.with_settings(timezone="America/New_York")
    env.deliver("web_conversion", DAY, {"web.csv": (
        "date,sku,sessions,orders,revenue\n"
        "2025-05-06,MV-OLV-500,1840,61,915.00\n2025-05-06,MV-PES-180,920,22,141.90\n"
        "2025-05-08,TA-MIEL-250,410,9,80.10\n")})

    env.ingest("web_conversion", DAY)

    assert [r["position"] for r in env.rejects()] == ["row 3"]


def test_a_decimal_in_an_integer_column_is_a_wrong_type(business_env):
    env = business_env
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000601), yotpo_review(487000602), yotpo_review(487000603, score=4.5)]}})

    env.ingest("yotpo_reviews", DAY)

    assert [r["reasons"] for r in env.rejects()] == ["score is a valid int" + got("4.5")]


def test_a_millisecond_timestamp_is_quarantined_not_the_whole_delivery_failed(business_env):
    env = business_env
    videos = [tiktok_video(7498221145863949590 + i) for i in range(9)]
    videos.append(tiktok_video(7498221145863949599, create_time=1746511200000))
    env.deliver("tiktok_videos", DAY, {"videos.json": tiktok_page(videos)})

    result = env.ingest("tiktok_videos", DAY)

    assert (result.records_loaded, result.records_rejected) == (9, 1)
    [reject] = env.rejects()
    assert reject["position"] == "$.data.videos[9]"
    # milliseconds sent as seconds: past 2200, so not a valid unix-seconds time
    assert reject["reasons"] == "create_time is a valid unix seconds (got 1746511200000)"


def test_a_valid_occurrence_loads_when_the_later_duplicate_is_invalid(business_env):
    """Was: the earlier valid occurrence was quarantined as a duplicate ("the last occurrence is
    kept") while the last one was quarantined for its own failure: neither loaded."""
    env = business_env
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000701), yotpo_review(487000701, score="cinq"), yotpo_review(487000702),
        yotpo_review(487000703)]}})

    env.ingest("yotpo_reviews", DAY)

    assert sorted(env.q("select id from raw.yotpo_reviews")["id"]) == [
        "487000701", "487000702", "487000703"]
    assert [r["reasons"] for r in env.rejects()] == ["score is a valid int" + got("cinq")]


def test_the_last_valid_of_several_occurrences_loads_and_the_others_name_it(business_env):
    env = business_env
    env.deliver("yotpo_reviews", DAY, {
        "page-1.json": {"reviews": [yotpo_review(487000711, votes_up=1), yotpo_review(487000712),
                                    yotpo_review(487000711, votes_up=2), yotpo_review(487000711, score=0)]},
        "page-2.json": {"reviews": [yotpo_review(487000713), yotpo_review(487000712, votes_up=3),
                                    yotpo_review(487000712, sku=NEW_SKU), yotpo_review(487000714),
                                    yotpo_review(487000715)]}})

    env.ingest("yotpo_reviews", DAY)

    assert env.records("select id, votes_up from raw.yotpo_reviews order by id") == [
        {"id": "487000711", "votes_up": "2"}, {"id": "487000712", "votes_up": "3"},
        {"id": "487000713", "votes_up": "2"}, {"id": "487000714", "votes_up": "2"},
        {"id": "487000715", "votes_up": "2"}]
    assert [(r["file"], r["position"], r["reasons"]) for r in env.rejects()] == [
        (f"yotpo_reviews/{DAY}/page-1.json", "$.reviews[0]", "id " + DUPLICATE + kept("$.reviews[2]")),
        (f"yotpo_reviews/{DAY}/page-1.json", "$.reviews[1]",
         "id " + DUPLICATE + kept(f"yotpo_reviews/{DAY}/page-2.json $.reviews[1]")),
        (f"yotpo_reviews/{DAY}/page-1.json", "$.reviews[3]", "score between 1 and 5" + got(0)),
        (f"yotpo_reviews/{DAY}/page-2.json", "$.reviews[2]", "sku in products.sku" + got(NEW_SKU))]


def test_reasons_show_the_offending_value_as_delivered(business_env):
    """Was: numpy/pandas reprs: 'np.int64(6)' when the column had a blank elsewhere in the delivery
    (plain '6' otherwise), and future times as a naive UTC Timestamp('2025-05-07 22:00:01') next to
    a limit stated in local time, which read as if it were before the limit 2025-05-07 23:59:59."""
    env = business_env
    env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [
        yotpo_review(487000801), yotpo_review(487000802), yotpo_review(487000803), yotpo_review(487000804, score="cinq"),
        yotpo_review(487000805, score=6), yotpo_review(487000806, created="2025-05-08T00:00:01+02:00")]}})

    env.ingest("yotpo_reviews", DAY)

    reasons = {r["position"]: r["reasons"] for r in env.rejects()}
    assert reasons["$.reviews[4]"] == "score between 1 and 5 (got 6)"
    assert "np." not in reasons["$.reviews[4]"] and "Timestamp(" not in reasons["$.reviews[5]"]
    assert "2025-05-08T00:00:01+02:00" in reasons["$.reviews[5]"]
    assert reasons["$.reviews[5]"] == "created_at " + FUTURE + got("2025-05-08T00:00:01+02:00")
    assert FUTURE.endswith(f"(at the latest 2025-05-07 23:59:59 {TZ}, i.e. 2025-05-07 21:59:59 UTC)")

