"""The HTML report's pieces without a browser or Airflow: the 95% interval it draws, its setting,
and a warehouse with no KPI day yet. The pages in a real Chromium, against the marts, are
``tests/e2e/test_report_browser.py``."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from ugc_pipeline.report import CHART_CACHE, Z95, ReportData, wilson_interval, write_report, write_report_from
from ugc_pipeline.settings import DEFAULT_REPORT_DIR, Settings


@pytest.mark.parametrize("trials", [10, 250, 4000])
def test_the_interval_is_wilson_s_closed_form(trials):
    # at 0 and n successes Wilson's bounds reduce to n / (n + z^2): computed here, not by the code
    z2 = Z95 * Z95
    edge = z2 / (trials + z2)
    assert wilson_interval(0, trials) == pytest.approx((0.0, edge), abs=1e-12)
    assert wilson_interval(trials, trials) == pytest.approx((1 - edge, 1.0), abs=1e-12)
    # symmetric around 1/2, and the textbook value of 0 out of 10: [0, 0.2775]
    low, high = wilson_interval(trials / 2 - 1, trials)
    assert 1 - high == pytest.approx(wilson_interval(trials / 2 + 1, trials)[0], abs=1e-12)
    assert low < (trials / 2 - 1) / trials < high
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_the_textbook_case():
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=5e-5)


def test_the_report_folder_setting(tmp_path):
    assert Settings.load({}).report_dir == DEFAULT_REPORT_DIR
    assert Settings.load({"UGC_REPORT_DIR": str(tmp_path)}).report_dir == str(tmp_path)
    assert Settings.load({"UGC_REPORT_DIR": ""}).report_dir == ""  # set but empty: no report
    assert write_report(Settings(warehouse_url=f"duckdb:///{tmp_path / 'wh.duckdb'}", report_dir="")) is None


def _data(days: list[date], extra_item_on: date | None = None) -> ReportData:
    """What ``load_report_data`` returns, for a few KPI days of one SKU (no campaign)."""
    ugc = pd.DataFrame([{"kpi_date": d, "platform": "yotpo", "influencer_tier": "unknown", "ugc_count": 2,
                         "rating_count": 2, "rating_sum": 9.0} for d in days])
    if extra_item_on is not None:
        ugc.loc[len(ugc)] = {"kpi_date": extra_item_on, "platform": "instagram", "influencer_tier": "nano",
                             "ugc_count": 1, "rating_count": 0, "rating_sum": None}
    reach = pd.DataFrame([{"kpi_date": d, "platform": "instagram", "influencer_tier": "nano", "post_count": 1,
                           "potential_reach": 500, "offline_reach": 0, "survey_answers": 0,
                           "survey_respondents": 0} for d in days])
    conversion = pd.DataFrame([{"kpi_date": d, "sku": "MV-OLV-500", "sessions": 1000, "orders": 25,
                                "conversion_rate": 0.025, "review_bucket": "1-9", "campaign_id": None,
                                "conversion_variation": None} for d in days])
    return ReportData(
        ugc=ugc, reach=reach, conversion=conversion,
        authors=pd.DataFrame({"author_key": ["AMB-1"], "influencer_tier": ["nano"], "first_day": [days[0]]}),
        ratings=pd.DataFrame({"kpi_date": days, "stars": [5] * len(days), "items": [2] * len(days)}),
        uplift=pd.DataFrame(columns=["campaign_id", "sku", "start_date", "end_date", "test_stores", "control_stores",
                                     "test_pre", "test_during", "control_pre", "control_during", "forecast", "uplift",
                                     "during_days", "sales_uplift_low", "sales_uplift_high", "sales_verdict",
                                     "product_name"]),
        buckets=pd.DataFrame(columns=["review_bucket", "sessions", "orders", "conversion_rate", "lift", "lift_low",
                                      "lift_high", "verdict"]),
        freshness=pd.DataFrame(columns=["source", "loaded_through", "checked_through", "failed_days",
                                        "latest_kpi_date"]))


def test_a_new_day_redraws_only_what_changed_and_a_vanished_day_loses_its_page(tmp_path):
    days = [date(2025, 5, 5), date(2025, 5, 6), date(2025, 5, 7)]
    index = write_report_from(_data(days), tmp_path)
    assert index == tmp_path / "index.html"
    assert sorted(p.name for p in tmp_path.glob("day-*.html")) == [f"day-{d}.html" for d in days]
    drawn = {p.name: p.stat().st_ino for p in (tmp_path / CHART_CACHE).glob("*.svg")}
    page = (tmp_path / "day-2025-05-06.html").read_text(encoding="utf-8")
    assert 'data-kpi="ugc_items_to_date" data-value="4.0"' in page  # 2 items on each of two days
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/", "")  # no script, no address
    assert "<metadata" not in page

    # the next run: a fourth day, and one more item on it; days 05-05..05-07 keep their charts
    write_report_from(_data([*days, date(2025, 5, 8)], extra_item_on=date(2025, 5, 8)), tmp_path)
    again = {p.name: p.stat().st_ino for p in (tmp_path / CHART_CACHE).glob("*.svg")}
    assert {n: t for n, t in again.items() if n in drawn} == drawn  # not drawn again (a drawing is a new file)
    assert set(again) - set(drawn)  # the new day's charts (and the index's) are new

    # a restated history without 05-05: its page goes
    write_report_from(_data(days[1:]), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("day-*.html")) == ["day-2025-05-06.html", "day-2025-05-07.html"]
