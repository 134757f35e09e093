"""Replaying the quarantine after a fix of the reference data (or of a mapping): the deliveries
that still have quarantined records are re-read from the landing zone and replace their earlier
load and quarantine, so records that now pass load once, the others stay quarantined with their
reasons, and replaying again changes nothing.

``ugc_pipeline.pipeline.replay_quarantine``; the ``ugc_replay_quarantine`` DAG
(``runner.run_replay``); the command ``ugc-pipeline replay``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from corpus import (
    AMBASSADORS_CSV,
    DAY,
    NEW_SKU,
    NEXT_DAY,
    PRODUCTS_CSV,
    WOM_HEADER,
    FileSpec,
    got,
    ok,
    wom_answer,
    yotpo_file,
    yotpo_review,
)
from support.pii import pseudonymised_record
from ugc_pipeline.pipeline import replay_quarantine
from ugc_pipeline.sources import get_source

# The catalogue catches up: the tapenade and its GTIN, in the next products snapshot.
PRODUCTS_WITH_NEW_SKU = PRODUCTS_CSV + f"{NEW_SKU},03760123450031,Tapenade noire 190 g,Maison Verte,Sauces\n"
AMBASSADORS_WITH_NEW = AMBASSADORS_CSV + "AMB-0009,instagram,@elodie.mijote,410,Z-SUD\n"
UNKNOWN_SKU_REASON = "sku in products.sku" + got(NEW_SKU)


def yotpo_day(first_id: int, *extra: dict) -> dict[str, bytes]:
    reviews = [yotpo_review(first_id + i, sku) for i, sku in enumerate(("MV-OLV-500", "MV-PES-180", "TA-MIEL-250"))]
    return {"reviews-page-1.json": yotpo_file("reviews-page-1.json", [ok(r) for r in [*reviews, *extra]]).render()}


def wom_day() -> dict[str, bytes]:
    answers = [wom_answer("R-0501"), wom_answer("R-0502", "AMB-0002"), wom_answer("R-0503", "AMB-0003"),
               wom_answer("R-0504", "AMB-0009", told="15")]  # a new ambassador, not on the roster yet
    return {"survey.csv": FileSpec("survey.csv", "csv", tuple(ok(a) for a in answers), header=WOM_HEADER).render()}


def raw_rows(env, table: str) -> pd.DataFrame:
    """A raw table without its load metadata (run_id, loaded_at), in a stable order."""
    frame = env.q(f"select * exclude (run_id, loaded_at) from raw.{table}")
    return frame.sort_values(list(frame.columns), ignore_index=True)


def marts(env) -> dict[str, pd.DataFrame]:
    return {t: f for t, f in env.snapshot(schemas=("marts",)).items() if t.startswith("marts.")}


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert sorted(before) == sorted(after)
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)


def kept(review: dict) -> dict:
    """A Yotpo review as the quarantine keeps it: as delivered but for its personal fields."""
    return pseudonymised_record(get_source("yotpo_reviews").tables[0], review)


def without_run(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]


def test_a_record_quarantined_for_an_unknown_sku_loads_once_the_products_catch_up(business_env):
    env = business_env
    new = yotpo_review(487001004, NEW_SKU, 4, content="Tapenade parfaite à l'apéritif.")
    env.deliver("yotpo_reviews", DAY, yotpo_day(487001001, new))
    env.ingest("yotpo_reviews", DAY, run_id="run-day")
    assert [(r["position"], r["reasons"], r["raw"]) for r in env.rejects()] == [
        ("$.reviews[3]", UNKNOWN_SKU_REASON, kept(new))]
    env.build()
    assert NEW_SKU not in set(env.q("select sku from marts.ugc_daily")["sku"])

    # The fix: the next products snapshot has the SKU.
    env.deliver("products", NEXT_DAY, {"products.csv": PRODUCTS_WITH_NEW_SKU})
    assert env.ingest("products", NEXT_DAY, run_id="run-next").status == "success"
    results = replay_quarantine(env.settings, run_id="replay-1")

    assert [(r.source, r.delivery_date, r.status, r.records_read, r.records_loaded, r.records_rejected)
            for r in results] == [("yotpo_reviews", DAY, "success", 4, 4, 0)]
    assert env.rejects() == []
    raw = env.records("select id, sku, run_id from raw.yotpo_reviews order by id")
    assert raw == [{"id": str(487001001 + i), "sku": sku, "run_id": "replay-1"}
                   for i, sku in enumerate(("MV-OLV-500", "MV-PES-180", "TA-MIEL-250", NEW_SKU))]
    [run] = env.runs(run_id="replay-1")
    assert (run["source"], run["delivery_date"], run["status"], run["records_read"], run["records_loaded"],
            run["records_rejected"]) == ("yotpo_reviews", DAY, "success", 4, 4, 0)
    env.build()
    tapenade = env.records("select kpi_date, brand, sku, platform, ugc_count, avg_rating from marts.ugc_daily "
                           "where sku = :s", s=NEW_SKU)
    assert [(str(r["kpi_date"]), r["brand"], r["platform"], r["ugc_count"], r["avg_rating"]) for r in tapenade] == [
        (DAY, "Maison Verte", "yotpo", 1, 4.0)]
    raw_before, marts_before = raw_rows(env, "yotpo_reviews"), marts(env)

    # Replaying again: nothing is left in quarantine, nothing changes.
    assert replay_quarantine(env.settings, run_id="replay-2") == []
    env.build()
    pd.testing.assert_frame_equal(raw_rows(env, "yotpo_reviews"), raw_before)
    assert_same(marts_before, marts(env))


def test_replay_keeps_still_bad_records_quarantined_filters_and_never_duplicates(business_env):
    env = business_env
    still_bad = yotpo_review(487002005, score=9)
    env.deliver("yotpo_reviews", DAY, yotpo_day(487002001, yotpo_review(487002004, NEW_SKU), still_bad))
    env.deliver("yotpo_reviews", NEXT_DAY, yotpo_day(487003001, yotpo_review(487003004, NEW_SKU)))
    env.deliver("wom_surveys", DAY, wom_day())
    for source, day in (("yotpo_reviews", DAY), ("yotpo_reviews", NEXT_DAY), ("wom_surveys", DAY)):
        env.ingest(source, day, run_id="run-days")
    assert [(r["source"], r["delivery_date"], r["position"]) for r in env.rejects()] == [
        ("wom_surveys", DAY, "row 4"), ("yotpo_reviews", DAY, "$.reviews[3]"), ("yotpo_reviews", DAY, "$.reviews[4]"),
        ("yotpo_reviews", NEXT_DAY, "$.reviews[3]")]
    # The fixes: the products and the roster catch up.
    env.deliver("products", NEXT_DAY, {"products.csv": PRODUCTS_WITH_NEW_SKU})
    env.deliver("ambassadors", NEXT_DAY, {"ambassadors.csv": AMBASSADORS_WITH_NEW})
    env.ingest("products", NEXT_DAY, run_id="run-fix")
    env.ingest("ambassadors", NEXT_DAY, run_id="run-fix")

    # Only one source.
    results = replay_quarantine(env.settings, run_id="replay-wom", source="wom_surveys")
    assert [(r.source, r.delivery_date, r.records_loaded, r.records_rejected) for r in results] == [
        ("wom_surveys", DAY, 4, 0)]
    assert {(r["source"], r["delivery_date"]) for r in env.rejects()} == {("yotpo_reviews", DAY),
                                                                         ("yotpo_reviews", NEXT_DAY)}
    # Only a range of delivery days.
    results = replay_quarantine(env.settings, run_id="replay-day", start=DAY, end=DAY)
    assert [(r.source, r.delivery_date, r.records_loaded, r.records_rejected) for r in results] == [
        ("yotpo_reviews", DAY, 4, 1)]
    assert [(r["source"], r["delivery_date"], r["position"], r["reasons"], r["raw"], r["run_id"])
            for r in env.rejects()] == [
        ("yotpo_reviews", DAY, "$.reviews[4]", "score between 1 and 5" + got(9), kept(still_bad), "replay-day"),
        ("yotpo_reviews", NEXT_DAY, "$.reviews[3]", UNKNOWN_SKU_REASON, kept(yotpo_review(487003004, NEW_SKU)),
         "run-days")]
    # Everything left.
    results = replay_quarantine(env.settings, run_id="replay-all")
    assert [(r.source, r.delivery_date, r.records_loaded, r.records_rejected) for r in results] == [
        ("yotpo_reviews", DAY, 4, 1), ("yotpo_reviews", NEXT_DAY, 4, 0)]
    env.build()
    state = {t: raw_rows(env, t) for t in ("yotpo_reviews", "wom_surveys")}
    quarantine, marts_before = without_run(env.rejects()), marts(env)
    assert len(state["yotpo_reviews"]) == 8 and len(state["wom_surveys"]) == 4
    assert not state["yotpo_reviews"].duplicated(["delivery_date", "id"]).any()
    assert quarantine == [{"source": "yotpo_reviews", "delivery_date": DAY, "file": f"yotpo_reviews/{DAY}/reviews-page-1.json",
                           "position": "$.reviews[4]", "reasons": "score between 1 and 5" + got(9),
                           "raw": kept(still_bad)}]

    # Replaying again re-reads the delivery that still has a quarantined record: same rows, no duplicates.
    results = replay_quarantine(env.settings, run_id="replay-again")
    assert [(r.source, r.delivery_date, r.records_loaded, r.records_rejected) for r in results] == [
        ("yotpo_reviews", DAY, 4, 1)]
    env.build()
    for table, before in state.items():
        pd.testing.assert_frame_equal(raw_rows(env, table), before, obj=table)
    assert without_run(env.rejects()) == quarantine
    assert_same(marts_before, marts(env))


def test_the_replay_command_passes_its_filters_to_the_dag(monkeypatch, ugc_environ):
    """``ugc-pipeline replay [--source S] [--from D --to D]`` runs ugc_replay_quarantine with them."""
    from ugc_pipeline import cli, runner

    calls = []
    monkeypatch.setattr(runner, "run_replay", lambda settings, conf, progress: calls.append(conf) or True)

    assert cli.main(["replay", "--source", "yotpo_reviews", "--from", DAY, "--to", NEXT_DAY]) == 0
    assert cli.main(["replay"]) == 0
    monkeypatch.setattr(runner, "run_replay", lambda settings, conf, progress: False)
    assert cli.main(["replay"]) == 1

    assert calls == [{"source": "yotpo_reviews", "from_date": DAY, "to_date": NEXT_DAY},
                     {"source": None, "from_date": None, "to_date": None}]


@pytest.mark.airflow
def test_replay_through_the_dag_loads_the_fixed_record_and_rebuilds_the_marts(business_env, ugc_environ):
    from ugc_pipeline.runner import run_replay

    env = business_env
    new = yotpo_review(487004004, NEW_SKU, 5)
    env.deliver("yotpo_reviews", DAY, yotpo_day(487004001, new))
    env.ingest("yotpo_reviews", DAY, run_id="run-day")
    env.build()
    env.deliver("products", NEXT_DAY, {"products.csv": PRODUCTS_WITH_NEW_SKU})
    env.ingest("products", NEXT_DAY, run_id="run-fix")
    assert len(env.rejects()) == 1
    env.close()
    progress: list[str] = []

    assert run_replay(env.settings, {"source": None, "from_date": None, "to_date": None}, progress=progress.append)

    assert env.rejects() == []
    raw = env.records("select id, sku from raw.yotpo_reviews order by id")
    assert [r["id"] for r in raw] == [str(487004001 + i) for i in range(4)]
    assert raw[-1]["sku"] == NEW_SKU
    [run] = [r for r in env.runs() if r["run_id"].startswith("manual__")]
    assert (run["source"], run["delivery_date"], run["status"], run["records_loaded"], run["records_rejected"]) == (
        "yotpo_reviews", DAY, "success", 4, 0)
    # ugc_marts ran after the replay: the review counts in the marts now
    assert env.records("select brand, ugc_count from marts.ugc_daily where sku = :s", s=NEW_SKU) == [
        {"brand": "Maison Verte", "ugc_count": 1}]
