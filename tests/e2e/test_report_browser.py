"""The HTML KPI report of the hand-made landing zone's warehouse, opened in a real headless
Chromium (Debian's, driven by Playwright): every page loads without a console error and without a
single request (air-gapped), no chart is drawn empty, a full-page screenshot is taken, and the
numbers the pages show are the marts' numbers, computed here in SQL on the marts themselves
(with the analyst marts' intervals and verdicts: campaign_summary, review_bucket_conversion,
data_freshness)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from support.browser import chromium
from support.runs import copy_run
from ugc_pipeline.report import write_report

CHARTS_ON_INDEX = {"ugc_by_platform", "ugc_by_tier", "influencer_pyramid", "reach_online_offline", "ratings",
                   "conversion_CMP-OLIVE", "review_buckets", "store_sales_uplift"}

CHART_STATE = """() => Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {key: f.dataset.chart, marks: Number(f.dataset.marks), svg: !!svg, width: box.width, height: box.height,
          drawn: svg ? svg.querySelectorAll('path, rect, use, line, polyline, polygon').length : 0,
          nodata: !!f.querySelector('.nodata')};
})"""
TILES = """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-kpi]')).map(
  t => [t.dataset.kpi, [t.dataset.value, t.querySelector('.value').innerText]]))"""
TABLE = """key => Array.from(document.querySelectorAll(`table[data-table="${key}"] tr`)).slice(1).map(
  r => Object.fromEntries(Array.from(r.querySelectorAll('td')).map(c => [c.dataset.col, c.textContent])))"""


@pytest.fixture(scope="module")
def report(direct_runs, tmp_path_factory):
    """The report of a copy of the forward reference run (written without Airflow)."""
    workdir = tmp_path_factory.mktemp("report")
    run = copy_run(direct_runs["forward"], workdir, "report")
    settings = replace(run.settings, report_dir=str(workdir / "report"))
    index = write_report(settings)
    con = duckdb.connect(str(run.warehouse_file), read_only=True)
    yield index, con
    con.close()


def _one(con, sql: str, *params) -> float:
    value = con.execute(sql, list(params)).fetchone()[0]
    return math.nan if value is None else float(value)


def _open(browser, path: Path):
    """A page of the report, with what it asked the network for and what it logged as errors."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests, errors = [], []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def refuse(route):  # the only request allowed is the page itself, from disk
        if route.request.url != path.as_uri():
            requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", refuse)
    page.goto(path.as_uri(), wait_until="load")
    return page, requests, errors


def _close(actual: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    return math.isclose(actual, expected, rel_tol=1e-5, abs_tol=1e-9)


def test_every_page_renders_offline_without_errors_or_empty_charts(report, tmp_path):
    index, _ = report
    pages = [index, *sorted(index.parent.glob("day-*.html"))]
    assert len(pages) > 5
    with chromium() as browser:
        for path in pages:
            page, requests, errors = _open(browser, path)
            assert requests == [], f"{path.name} asked for {requests}"
            assert errors == [], f"{path.name}: {errors}"
            charts = page.evaluate(CHART_STATE)
            for chart in charts:
                if chart["nodata"]:  # a day before any data of that kind: said, not drawn empty
                    assert chart["marks"] == 0 and not chart["svg"], (path.name, chart)
                else:
                    assert chart["marks"] > 0 and chart["svg"], (path.name, chart)
                    assert chart["width"] > 300 and chart["height"] > 100, (path.name, chart)
                    assert chart["drawn"] > 10, (path.name, chart)
            if path == index:
                assert {c["key"] for c in charts} == CHARTS_ON_INDEX
                assert not any(c["nodata"] for c in charts)
                shot = tmp_path / "index.png"
                page.screenshot(path=str(shot), full_page=True)
            page.close()
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == 1200 and image.height > 3000
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50  # charts, not a blank page


def test_the_numbers_shown_are_the_marts(report):
    index, con = report
    last = con.execute("select max(d) from (select max(kpi_date) as d from marts.ugc_daily union all "
                       "select max(kpi_date) from marts.reach_daily union all "
                       "select max(kpi_date) from marts.conversion_daily)").fetchone()[0]
    expected = {
        "ugc_items_day": _one(con, "select coalesce(sum(ugc_count), 0) from marts.ugc_daily where kpi_date = ?", last),
        "ugc_items_to_date": _one(con, "select sum(ugc_count) from marts.ugc_daily"),
        "posts_to_date": _one(con, "select sum(post_count) from marts.reach_daily where platform <> 'offline'"),
        "potential_reach_to_date": _one(con, "select sum(potential_reach) from marts.reach_daily "
                                             "where platform <> 'offline'"),
        "offline_reach_to_date": _one(con, "select sum(offline_reach) from marts.reach_daily where platform = 'offline'"),
        "survey_answers_to_date": _one(con, "select sum(survey_answers) from marts.reach_daily "
                                            "where platform = 'offline'"),
        "avg_rating_to_date": _one(con, "select sum(avg_rating * rating_count) / sum(rating_count) "
                                        "from marts.ugc_daily"),
        "sessions_day": _one(con, "select coalesce(sum(sessions), 0) from marts.conversion_daily where kpi_date = ?",
                             last),
        "conversion_rate_day": _one(con, "select sum(orders) / sum(sessions) from marts.conversion_daily "
                                         "where kpi_date = ?", last),
    }
    assert expected["offline_reach_to_date"] > 0 and expected["posts_to_date"] > 0  # the landing zone has both
    per_day = dict(con.execute("select kpi_date, sum(ugc_count) from marts.ugc_daily group by 1").fetchall())
    buckets = {b: (s, o) for b, s, o in con.execute(
        "select review_bucket, sum(sessions), sum(orders) from marts.conversion_daily group by 1").fetchall()}
    uplift = con.execute("select u.campaign_id, test_pre, test_during, control_pre, control_during, forecast, uplift, "
                         "sales_uplift_low, sales_uplift_high, sales_verdict from marts.sales_uplift as u "
                         "join marts.campaign_summary as c on c.campaign_id = u.campaign_id "
                         "order by u.campaign_id").fetchall()
    lifts = {b: (lift, low, high, verdict) for b, lift, low, high, verdict in con.execute(
        "select review_bucket, lift, lift_low, lift_high, verdict from marts.review_bucket_conversion "
        "where is_pooled").fetchall()}
    pooled = {b: (s, o) for b, s, o in con.execute(
        "select review_bucket, sessions, orders from marts.review_bucket_conversion where is_pooled").fetchall()}
    assert pooled == buckets  # the pooled rows of the mart are conversion_daily's sums (what the pages draw)
    freshness = {r[0]: r[1:] for r in con.execute(
        "select source, loaded_through, checked_through, failed_days from marts.data_freshness").fetchall()}
    reach_by_tier = {t: (p, r) for t, p, r in con.execute(
        "select influencer_tier, sum(post_count), sum(potential_reach) from marts.reach_daily "
        "where platform <> 'offline' group by 1").fetchall()}
    ratings = _one(con, "select sum(rating_count) from marts.ugc_daily")

    with chromium() as browser:
        page, _, _ = _open(browser, index)
        tiles = page.evaluate(TILES)
        assert set(tiles) == set(expected)
        for key, value in expected.items():
            raw, shown = tiles[key]
            assert _close(float(raw) if raw else math.nan, value), (key, raw, value)
            if key.endswith(("_to_date", "_day")) and key not in ("avg_rating_to_date", "conversion_rate_day"):
                assert shown == f"{int(value):,}", (key, shown)
        assert tiles["conversion_rate_day"][1] == f"{expected['conversion_rate_day']:.2%}"
        assert tiles["avg_rating_to_date"][1] == f"{expected['avg_rating_to_date']:.2f} / 5"

        shown_buckets = {r["review_bucket"]: r for r in page.evaluate(TABLE, "review_buckets")}
        for bucket, (sessions, orders) in buckets.items():
            row = shown_buckets[bucket]
            assert float(row["sessions"]) == sessions and float(row["orders"]) == orders
            assert _close(float(row["conversion_rate"]), orders / sessions)
            assert float(row["ci_low"]) < orders / sessions < float(row["ci_high"])
            lift, low, high, verdict = lifts[bucket]  # marts.review_bucket_conversion, pooled
            assert row["verdict"] == (verdict or "")
            for column, value in (("lift", lift), ("lift_low", low), ("lift_high", high)):
                assert (row[column] == "") if value is None else _close(float(row[column]), value), (bucket, column)

        shown_uplift = page.evaluate(TABLE, "store_sales_uplift")
        assert [r["campaign_id"] for r in shown_uplift] == [u[0] for u in uplift]
        for row, mart in zip(shown_uplift, uplift, strict=True):
            for column, value in zip(("test_pre", "test_during", "control_pre", "control_during", "forecast", "uplift",
                                      "sales_uplift_low", "sales_uplift_high"), mart[1:9], strict=True):
                assert (row[column] == "") if value is None else _close(float(row[column]), value), (column, value)
            assert row["sales_verdict"] == mart[9]

        shown_freshness = {r["source"]: r for r in page.evaluate(TABLE, "data_freshness")}
        assert set(shown_freshness) == set(freshness)
        for source, (loaded, checked, failed) in freshness.items():
            row = shown_freshness[source]
            assert row["loaded_through"] == (loaded.isoformat() if loaded else ""), source
            assert row["checked_through"] == (checked.isoformat() if checked else ""), source
            assert int(row["failed_days"]) == failed, source

        pyramid = {r["influencer_tier"]: r for r in page.evaluate(TABLE, "influencer_pyramid")}
        for tier in ("nano", "micro", "macro"):
            posts, reach = reach_by_tier.get(tier, (0, 0))
            assert int(pyramid[tier]["posts"]) == posts and int(pyramid[tier]["potential_reach"]) == reach

        assert sum(int(r["items"]) for r in page.evaluate(TABLE, "ratings")) == ratings
        page.close()

        for day, items in per_day.items():  # each day's page: that day's UGC
            page, _, _ = _open(browser, index.parent / f"day-{day.isoformat()}.html")
            assert float(page.evaluate(TILES)["ugc_items_day"][0]) == items, day
            page.close()
