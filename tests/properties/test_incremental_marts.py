"""Incremental marts are exact: Hypothesis generates delivery sequences and the marts built day
by day (dbt's incremental runs, ``replace_changed``) must equal one ``--full-refresh`` over the
same raw layer, on DuckDB and on PostgreSQL.

A generated world is one brand with two SKUs, four stores in two zones, one ambassador campaign
on SKU-1 with a hashtag and an exposed zone, and up to six delivery days. Each day may carry:
late reviews (created days before their delivery), edited and deleted reviews (same id, later
version), ambassador posts whose metrics grow from one delivery to the next, survey answers,
restated web and store facts (a later delivery re-sends an earlier day), product snapshots that
rename a SKU or move it to another brand, and ambassador rosters that re-tier an ambassador
(followers across the 1,000 and 100,000 thresholds). The days are then loaded in a random order,
some twice (a rerun of the same delivery) and some re-delivered with other content; the marts are
built incrementally after a load, or after several (as a backfill with ``--marts-at-end`` builds
them once after every day's ingest): whether the marts are built after each load is drawn too,
and they always are after the last one. An incremental build then takes in one load or several
(a day and its rerun, a day and its re-delivery, several days).

The raw layer is written with ``warehouse.replace_delivery`` (what the ingest tasks call after
validation): what is under test is the SQL layer's incremental logic, not the parsers.
Each example starts from a copy of an empty warehouse (the raw tables, the staging and
intermediate views) prepared once: the per-example work is the loads and the marts'
builds, what the property is about.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url
from support.postgres import Databases, server_engine
from support.raw_layer import load_delivery
from support.session import built_once
from ugc_pipeline import catalog, transform, warehouse

BASE = date(2025, 5, 1)
SKUS = ("SKU-1", "SKU-2")
STORES = (("ST-1", "Z1"), ("ST-2", "Z1"), ("ST-3", "Z2"), ("ST-4", "Z2"))
CAMPAIGN_START = BASE + timedelta(days=2)
MARTS = {s.qualified: s for s in catalog.mart_specs()}
TIMEZONE = "Europe/Paris"
# CI runs the same examples every time (a failure reproduces); locally Hypothesis explores.
DERANDOMIZE = os.environ.get("CI", "").lower() == "true"


def ts(day: date, hour: int) -> str:
    # hours 22 and 23 UTC fall on the next KPI day in Europe/Paris
    return f"{day.isoformat()}T{hour:02d}:30:00Z"


# -- one delivery day's content ------------------------------------------------------------------
@st.composite
def delivery(draw, day_index: int) -> dict[str, list[dict]]:
    day = BASE + timedelta(days=day_index)
    earlier = st.integers(0, day_index)  # late items: created on this day or any before
    out: dict[str, list[dict]] = {}
    if day_index == 0 or draw(st.booleans()):
        out["products"] = [{"sku": sku, "gtin": f"0000{i}", "product_name": draw(st.sampled_from(["Olive oil", "Huile"])),
                            "brand": draw(st.sampled_from(["Brand", "Brand", "Other brand"])), "category": "food"}
                           for i, sku in enumerate(SKUS)]
    if day_index == 0:
        out["stores"] = [{"store_id": s, "google_location_id": f"loc-{s}", "brand": "Brand", "zone_id": z, "city": "Lille"}
                         for s, z in STORES]
        out["campaigns"] = [{"campaign_id": "CMP-1", "brand": "Brand", "sku": "SKU-1",
                             "start_date": CAMPAIGN_START.isoformat(),
                             "end_date": (CAMPAIGN_START + timedelta(days=draw(st.integers(1, 4)))).isoformat(),
                             "hashtags": "#OliveDuMatin", "exposed_zone_ids": "Z1"}]
    if day_index == 0 or draw(st.booleans()):
        out["ambassadors"] = [{"ambassador_id": a, "platform": "instagram", "handle": f"@amb{a}",
                               "followers": str(draw(st.sampled_from([300, 5000, 250000]))), "zone_id": "Z1"}
                              for a in ("A1", "A2")]
    out["yotpo_reviews"] = [
        {"id": f"R{draw(st.integers(1, 6))}", "sku": draw(st.sampled_from(SKUS)),
         "score": str(draw(st.integers(1, 5))), "title": "t",
         "content": draw(st.sampled_from(["", "Très bon"])),
         "created_at": ts(BASE + timedelta(days=draw(earlier)), draw(st.sampled_from([9, 23]))),
         "updated_at": ts(day, draw(st.integers(0, 21))),
         "deleted": draw(st.sampled_from(["false", "false", "true"])), "archived": "false",
         "is_incentivized": draw(st.sampled_from(["false", "true"]))}
        for _ in range(draw(st.integers(0, 4)))]
    out["ambassador_posts"] = [
        {"post_id": f"P{n}", "ambassador_id": draw(st.sampled_from(["A1", "A2"])), "campaign_id": "CMP-1",
         "platform": "instagram", "post_url": f"https://www.instagram.com/p/POST{n}/",
         "content_type": draw(st.sampled_from(["photo", "recipe"])),
         "posted_at": ts(BASE + timedelta(days=min(n, day_index)), 10),
         "followers_at_post": draw(st.sampled_from(["", "800"])),
         # metrics grow with the delivery day
         "likes": str(10 * (day_index + 1) + n), "comments": str(day_index), "shares": "", "views": str(100 * (day_index + 1))}
        for n in sorted(draw(st.sets(st.integers(0, 3), max_size=3)))]
    out["wom_surveys"] = [
        {"response_id": f"W{draw(st.integers(1, 3))}", "ambassador_id": draw(st.sampled_from(["A1", "A2"])),
         "campaign_id": "CMP-1", "answered_at": ts(BASE + timedelta(days=draw(earlier)), 12),
         "people_told": draw(st.sampled_from(["", "3", "12"])), "tried_product": "yes", "recommend_score": "9"}
        for _ in range(draw(st.integers(0, 2)))]
    # web and store facts for this day, plus restatements of earlier days
    facts_days = sorted({day_index, *draw(st.sets(earlier, max_size=2))})
    out["web_conversion"] = [{"date": (BASE + timedelta(days=d)).isoformat(), "sku": sku,
                              "sessions": str(draw(st.integers(0, 50))), "orders": str(draw(st.integers(0, 5))),
                              "revenue": "10.5"} for d in facts_days for sku in SKUS]
    out["store_sales"] = [{"date": (BASE + timedelta(days=d)).isoformat(), "store_id": s, "sku": "SKU-1",
                           "units": str(draw(st.integers(0, 9))), "revenue": "3.0"} for d in facts_days for s, _ in STORES]
    return out


@st.composite
def scenario(draw):
    days = draw(st.integers(3, 6))
    versions = {d: [draw(delivery(d))] for d in range(days)}
    order = draw(st.permutations(range(days)))
    steps: list[tuple[int, int, bool]] = []  # (day, version, whether the marts are built after the load)

    def step(d: int, version: int) -> None:
        steps.append((d, version, draw(st.booleans())))

    for d in order:
        step(d, 0)
        if draw(st.integers(0, 3)) == 0:  # a rerun of the same delivery
            step(d, len(versions[d]) - 1)
        if draw(st.integers(0, 4)) == 0:  # re-delivered with other content
            versions[d].append(draw(delivery(d)))
            step(d, len(versions[d]) - 1)
    steps[-1] = (*steps[-1][:2], True)  # the marts are built after the last load
    return versions, steps


# -- warehouse helpers ---------------------------------------------------------------------------
SNAPSHOTS_AND_FACTS = ("products", "stores", "campaigns", "ambassadors", "yotpo_reviews", "ambassador_posts",
                       "wom_surveys", "web_conversion", "store_sales")


def load(engine, day_index: int, content: dict[str, list[dict]]) -> None:
    """Replace the delivery of ``day_index`` in every raw table (a table the day does not carry
    has its earlier load of that day removed), as an ingest of that day would."""
    load_delivery(engine, BASE + timedelta(days=day_index),
                  {name: content.get(name) for name in SNAPSHOTS_AND_FACTS}, run_id=f"day-{day_index}")


def marts(engine) -> dict[str, pd.DataFrame]:
    out = {}
    with engine.connect() as conn:
        for name, spec in MARTS.items():
            frame = pd.read_sql_query(f"select * from {name}", conn)
            frame = frame[spec.column_names].sort_values(list(spec.grain), na_position="first").reset_index(drop=True)
            out[name] = frame
    return out


def build(url: str, *extra: str) -> None:
    transform.run_dbt(url, ["run", "--select", "marts", *extra], timezone=TIMEZONE)


def prepare_warehouse(url: str) -> None:
    """An empty warehouse: the raw layer's tables, and the staging and intermediate views over
    them. Built once per warehouse kind and copied for each example (``duckdb_template``,
    ``pg_template``): what each example runs is the loads and the marts' builds."""
    engine = warehouse.create_warehouse_engine(url)
    try:
        warehouse.ensure_warehouse(engine)
    finally:
        engine.dispose()
    transform.run_dbt(url, ["run", "--select", "staging", "intermediate"], timezone=TIMEZONE)


def check_scenario(url: str, versions, steps) -> None:
    """Loads ``steps`` into the prepared, empty warehouse ``url``, building the marts
    incrementally after the loads whose step says so (the last one's always does), then compares
    them with a ``--full-refresh``."""
    assert steps[-1][2], "the marts are built after the last load"
    engine = warehouse.create_warehouse_engine(url)
    try:
        for day, version, then_build in steps:
            load(engine, day, versions[day][version])
            if then_build:
                build(url)
        incremental = marts(engine)
        build(url, "--full-refresh")
        full = marts(engine)
    finally:
        engine.dispose()
    for name in MARTS:
        pd.testing.assert_frame_equal(incremental[name], full[name], check_dtype=False, rtol=1e-9,
                                      obj=f"{name} (incremental vs --full-refresh)")


def _removal_case():
    """A fixed example beside the generated ones: the only review of a (day, platform, tier)
    group is deleted by a later delivery, so that group's row must disappear from ugc_daily
    while the rest of its day stays: the "row gone" half of replace_changed's difference."""
    def base(day: int) -> dict[str, list[dict]]:
        out = {"web_conversion": [{"date": (BASE + timedelta(days=day)).isoformat(), "sku": "SKU-1",
                                   "sessions": "10", "orders": "1", "revenue": "1"}],
               "yotpo_reviews": []}
        if day == 0:
            out["products"] = [{"sku": s, "gtin": f"0000{i}", "product_name": "Oil", "brand": "Brand", "category": "food"}
                               for i, s in enumerate(SKUS)]
        return out

    def review(rid: str, sku: str, deleted: str, day: int) -> dict:
        return {"id": rid, "sku": sku, "score": "4", "content": "ok", "created_at": ts(BASE, 9),
                "updated_at": ts(BASE + timedelta(days=day), 10), "deleted": deleted, "archived": "false",
                "is_incentivized": "false"}

    day0, day1 = base(0), base(1)
    day0["yotpo_reviews"] = [review("R1", "SKU-1", "false", 0), review("R2", "SKU-2", "false", 0)]
    day1["yotpo_reviews"] = [review("R2", "SKU-2", "true", 1)]  # deletes SKU-2's only review of day 0
    return {0: [day0], 1: [day1], 2: [base(2)]}, [(0, 0, True), (1, 0, True), (2, 0, True)]


PROPERTY = settings(max_examples=int(os.environ.get("UGC_PROPERTY_EXAMPLES", "6")), deadline=None,
                    derandomize=DERANDOMIZE, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def duckdb_template() -> Path:
    """The prepared, empty DuckDB warehouse, built once per session; each example copies it."""
    def build(folder: Path) -> None:
        prepare_warehouse(f"duckdb:///{folder / 'wh.duckdb'}")
        assert not (folder / "wh.duckdb.wal").exists()  # closed and checkpointed: the file is the whole of it

    return built_once("properties-duckdb-template", build) / "wh.duckdb"


@PROPERTY
@given(scenario())
@example(_removal_case())
def test_incremental_marts_equal_a_full_refresh_on_duckdb(tmp_path_factory, duckdb_template, case):
    versions, steps = case
    file = tmp_path_factory.mktemp("prop") / "wh.duckdb"
    shutil.copyfile(duckdb_template, file)  # a fresh warehouse for every example
    check_scenario(f"duckdb:///{file}", versions, steps)


@pytest.fixture(scope="module")
def pg_template():
    """The prepared, empty PostgreSQL warehouse (a database no one else connects to), the server's
    engine, and the URL of the examples' warehouse: each example gets it created anew from the
    template, under the same (module's own) name, so dbt parses the project once for all the
    examples (a parse is per database name, ``transform.run_dbt``), not once per example."""
    server = server_engine()
    databases = Databases(server)
    try:
        template = databases.new("prop_template")
        prepare_warehouse(template)
        example = databases.new("prop")  # created again from the template for each example
        yield server, make_url(template).database, example
    finally:
        databases.drop_all()
        server.dispose()


@settings(parent=PROPERTY, max_examples=int(os.environ.get("UGC_PROPERTY_EXAMPLES_PG", "3")))
@given(scenario())
def test_incremental_marts_equal_a_full_refresh_on_postgresql(pg_template, case):
    server, template, url = pg_template
    name = make_url(url).database
    with server.connect() as conn:  # a fresh warehouse for every example
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
        conn.execute(text(f'create database "{name}" template "{template}"'))
    versions, steps = case
    check_scenario(url, versions, steps)
