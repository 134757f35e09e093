"""A big delivery in batches (``ugc_pipeline.batches``, issue #10): split into several batches (a
tiny ``UGC_BATCH_RECORDS``, every file its own parse group), a delivery loads exactly the raw rows
and the quarantine it loads as one batch, with the delivery-level rules holding across batches
(duplicates, the rejected share, the file checks); a delivery that fails in a late batch leaves
the warehouse as it was. Real DuckDB warehouses; the sizes are tiny, the code path is the one a
million-record delivery takes.
"""

from __future__ import annotations

import logging
import re

import pytest
from corpus import (
    BROKEN_CASES,
    DAY,
    DUPLICATE,
    NEXT_DAY,
    QUARANTINE_CASES,
    got,
    kept,
    yotpo_review,
)
from support.warehouse_env import start_env
from test_broken_deliveries import assert_one_line, assert_same_state, failed_ingest
from ugc_pipeline import batches
from ugc_pipeline.sources import SOURCES

SPOOLED = re.compile(r"records parsed into \w+, \d+ set aside \(\d+ files in \d+ groups, \d+ batches\)")


@pytest.fixture
def tiny_groups(monkeypatch):
    """Every file of a delivery is a parse group of its own."""
    monkeypatch.setattr(batches, "PARSE_GROUP_BYTES", 1)


@pytest.fixture
def batched_env(tmp_path, business_template, tiny_groups):
    """A second warehouse holding the business snapshots, whose deliveries go in batches of 3."""
    folder = tmp_path / "batched"
    folder.mkdir()
    e = start_env(folder, business_template, batch_records=3)
    yield e
    e.close()


def raw_rows(env, source: str, day: str = DAY) -> dict[str, list[dict]]:
    """The delivery's raw rows of every table of the source, without the run's own columns."""
    out = {}
    for table in SOURCES[source].tables:
        rows = env.records(f"select * from raw.{table.name} where delivery_date = cast(:d as date) "
                           "order by source_file, record_number", d=day)
        out[table.name] = [{k: v for k, v in r.items() if k not in ("run_id", "loaded_at")} for r in rows]
    return out


def quarantine(env, source: str, day: str = DAY) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "run_id"} for r in env.rejects(source, day)]


def counts(result) -> tuple:
    return result.status, result.files_read, result.records_read, result.records_loaded, result.records_rejected


@pytest.mark.parametrize("case", QUARANTINE_CASES, ids=lambda c: c.id)
def test_a_delivery_in_batches_loads_the_same_rows_and_quarantine_as_one_batch(business_env, batched_env, case,
                                                                              caplog):
    business_env.deliver(case.source, DAY, case.contents())
    batched_env.deliver(case.source, DAY, case.contents())

    whole = business_env.ingest(case.source, DAY, run_id="one-batch")
    with caplog.at_level(logging.INFO, logger="ugc_pipeline"):
        split = batched_env.ingest(case.source, DAY, run_id="batches")

    assert SPOOLED.search(caplog.text), "the delivery was not split into batches"
    assert counts(split) == counts(whole) == ("success", len(case.files), case.read, case.read - case.rejected,
                                              case.rejected)
    assert raw_rows(batched_env, case.source) == raw_rows(business_env, case.source)
    assert quarantine(batched_env, case.source) == quarantine(business_env, case.source)
    assert len(quarantine(batched_env, case.source)) == case.rejected


def test_duplicates_across_files_and_batches_keep_the_last_valid_occurrence(business_env, batched_env):
    """Occurrences of one review in three files (three parse groups, batches of one record): the
    last valid one loads wherever it sits, the earlier valid ones are quarantined naming it, an
    invalid one only for its own failure; a bad record of the last file is quarantined."""
    pages = {
        "page-1.json": {"reviews": [yotpo_review(487000911, votes_up=1), yotpo_review(487000912)]},
        "page-2.json": {"reviews": [yotpo_review(487000913), yotpo_review(487000911, votes_up=2),
                                    yotpo_review(487000914)]},
        "page-3.json": {"reviews": [yotpo_review(487000911, score=0), yotpo_review(487000915),
                                    yotpo_review(487000916, score=9)]},
    }
    business_env.deliver("yotpo_reviews", DAY, pages)
    batched_env.deliver("yotpo_reviews", DAY, pages)
    batched_env.with_settings(batch_records=1)

    whole = business_env.ingest("yotpo_reviews", DAY, run_id="one-batch")
    split = batched_env.ingest("yotpo_reviews", DAY, run_id="batches")

    assert counts(split) == counts(whole) == ("success", 3, 8, 5, 3)
    folder = f"yotpo_reviews/{DAY}"
    assert [(r["file"], r["position"], r["reasons"]) for r in batched_env.rejects()] == [
        (f"{folder}/page-1.json", "$.reviews[0]", "id " + DUPLICATE + kept(f"{folder}/page-2.json $.reviews[1]")),
        (f"{folder}/page-3.json", "$.reviews[0]", "score between 1 and 5" + got(0)),
        (f"{folder}/page-3.json", "$.reviews[2]", "score between 1 and 5" + got(9))]
    assert batched_env.records("select id, votes_up from raw.yotpo_reviews where delivery_date = cast(:d as date) "
                               "and id = '487000911'", d=DAY) == [{"id": "487000911", "votes_up": "2"}]
    assert raw_rows(batched_env, "yotpo_reviews") == raw_rows(business_env, "yotpo_reviews")
    assert quarantine(batched_env, "yotpo_reviews") == quarantine(business_env, "yotpo_reviews")


def test_rerunning_a_delivery_in_batches_replaces_it(batched_env):
    env = batched_env.with_settings(batch_records=2)
    env.deliver("yotpo_reviews", DAY, {f"page-{i}.json": {"reviews": [
        yotpo_review(487001000 + 10 * i + j, score=5 if j else 7) for j in range(4)]} for i in range(3)})
    env.ingest("yotpo_reviews", DAY, run_id="first")
    first = raw_rows(env, "yotpo_reviews"), quarantine(env, "yotpo_reviews")

    again = env.ingest("yotpo_reviews", DAY, run_id="again")

    assert counts(again) == ("success", 3, 12, 9, 3)
    assert (raw_rows(env, "yotpo_reviews"), quarantine(env, "yotpo_reviews")) == first
    assert len(first[0]["yotpo_reviews"]) == 9 and len(first[1]) == 3
    assert env.q("select count(*) as n from raw.yotpo_reviews where delivery_date = cast(:d as date)",
                 d=DAY)["n"][0] == 9


# -- failures in a late batch ------------------------------------------------------------------

@pytest.fixture
def batched_good_day(good_day_env, tiny_groups):
    return good_day_env.with_settings(batch_records=1)


def test_an_unreadable_file_in_a_late_batch_leaves_the_warehouse_as_it_was(batched_good_day, good_day_state):
    """The first files are good and parse into batches; the last one is cut: nothing loads, not
    even the good batches, and the earlier load of the day stays."""
    env = batched_good_day
    before, runs_before = good_day_state
    good_pages = {f"page-{i}.json": {"reviews": [yotpo_review(487002000 + 10 * i + j) for j in range(3)]}
                  for i in range(1, 4)}
    env.deliver("yotpo_reviews", DAY, {**good_pages, "page-4.json": '{"reviews": [{"id": 4870029'})

    message = failed_ingest(env, "yotpo_reviews", DAY, "late-failure")

    assert_one_line(message)
    assert message.startswith(f"yotpo_reviews/{DAY}/page-4.json: cannot be read as json"), message
    assert_same_state(before, env.snapshot())
    [run] = env.runs()[len(runs_before):]
    assert (run["status"], run["records_loaded"], run["records_rejected"]) == ("failed", 0, 0)


def test_the_rejected_share_is_over_the_whole_delivery_not_a_batch(batched_good_day):
    """Batches of one record: the last batches are all bad (each one 100% rejected) but the
    delivery is 40% bad, under the 50% threshold: it loads; then 60% bad: refused, nothing loads."""
    env = batched_good_day
    good = [yotpo_review(487003000 + i) for i in range(3)]
    env.deliver("yotpo_reviews", DAY, {"page-1.json": {"reviews": good},
                                       "page-2.json": {"reviews": [yotpo_review(487003100 + i, score=0)
                                                                   for i in range(2)]}})
    assert counts(env.ingest("yotpo_reviews", DAY, run_id="under")) == ("success", 2, 5, 3, 2)

    env.deliver("yotpo_reviews", NEXT_DAY, {"page-1.json": {"reviews": good[:2]},
                                            "page-2.json": {"reviews": [yotpo_review(487003200 + i, score=0)
                                                                        for i in range(3)]}})
    state = env.snapshot()
    message = failed_ingest(env, "yotpo_reviews", NEXT_DAY, "over")
    assert re.fullmatch(rf"yotpo_reviews/{NEXT_DAY}/page-2\.json \$\.reviews\[0\]: 3 of 5 records \(60%\) failed "
                        r"their expectations, over the 50% threshold for yotpo_reviews; most failed: "
                        r"'score between 1 and 5' \(3\)", message), message
    assert_same_state(state, env.snapshot())


@pytest.mark.parametrize("case", BROKEN_CASES, ids=lambda c: c.id)
def test_a_broken_delivery_in_batches_fails_as_in_one_batch(batched_good_day, good_day_state, case):
    """Every broken delivery of the corpus, parsed file by file in batches of one record: the
    same one-line error as in one batch, and the warehouse as it was."""
    env = batched_good_day
    before, runs_before = good_day_state
    env.deliver(case.source, NEXT_DAY, case.files)

    message = failed_ingest(env, case.source, NEXT_DAY, "run-broken")

    assert_one_line(message)
    assert re.fullmatch(case.error, message), message
    assert_same_state(before, env.snapshot())
    [run] = env.runs()[len(runs_before):]
    assert (run["status"], run["records_loaded"], run["records_rejected"], run["message"]) == (
        "failed", 0, 0, message)


def test_a_small_delivery_is_one_batch_in_memory(business_env, caplog):
    """Under UGC_BATCH_RECORDS (and one parse group) nothing is spooled: the delivery is parsed,
    validated and loaded in memory as before batching existed."""
    business_env.deliver("yotpo_reviews", DAY, {"page.json": {"reviews": [yotpo_review(487004001)]}})
    with caplog.at_level(logging.INFO, logger="ugc_pipeline"):
        result = business_env.ingest("yotpo_reviews", DAY)
    assert counts(result) == ("success", 1, 1, 1, 0)
    assert not SPOOLED.search(caplog.text)
    assert "validated in" not in caplog.text
